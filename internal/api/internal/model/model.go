// Package model holds the trimmed Proton API model: the operations and shapes of
// botocore's service-2.json without their documentation. The generator writes it
// as model.json and package api embeds it, so the project builds without the
// original model at hand.
package model

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Model is the trimmed API model.
type Model struct {
	TargetPrefix string                `json:"targetPrefix"`
	Operations   map[string]*Operation `json:"operations"`
	Shapes       map[string]*Shape     `json:"shapes"`
}

// Operation names the shapes an operation takes, returns and fails with.
type Operation struct {
	Name   string   `json:"name"`
	Input  string   `json:"input,omitempty"`
	Output string   `json:"output,omitempty"`
	Errors []string `json:"errors,omitempty"`
}

// Shape is one shape of the model with the constraints that validation needs.
// Members is a list, not an object, so that the model's member order (the
// order violations are reported in) survives a round trip through Go.
type Shape struct {
	Type      string   `json:"type"`
	Members   []Member `json:"members,omitempty"`
	Required  []string `json:"required,omitempty"`
	Min       *int64   `json:"min,omitempty"`
	Max       *int64   `json:"max,omitempty"`
	Pattern   string   `json:"pattern,omitempty"`
	Enum      []string `json:"enum,omitempty"`
	Union     bool     `json:"union,omitempty"`
	Sensitive bool     `json:"sensitive,omitempty"`
	Exception bool     `json:"exception,omitempty"`
	Member    *Ref     `json:"member,omitempty"` // element of a list
	Key       *Ref     `json:"key,omitempty"`    // key of a map
	Value     *Ref     `json:"value,omitempty"`  // value of a map
}

// Member is a member of a structure.
type Member struct {
	Name             string `json:"name"`
	Shape            string `json:"shape"`
	IdempotencyToken bool   `json:"idempotencyToken,omitempty"`
}

// Ref refers to a shape by name.
type Ref struct {
	Shape string `json:"shape"`
}

// IsRequired reports whether the structure requires the named member.
func (s *Shape) IsRequired(member string) bool {
	return slices.Contains(s.Required, member)
}

// Parse decodes a trimmed model and checks that every shape it refers to exists.
func Parse(data []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parse model: %w", err)
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Check reports the first reference to a shape the model does not define, or a
// required member a structure does not have.
func (m *Model) Check() error {
	known := func(name, from string) error {
		if _, ok := m.Shapes[name]; !ok {
			return fmt.Errorf("model: %s refers to unknown shape %q", from, name)
		}
		return nil
	}
	for name, op := range m.Operations {
		for _, ref := range append([]string{op.Input, op.Output}, op.Errors...) {
			if ref == "" {
				continue
			}
			if err := known(ref, "operation "+name); err != nil {
				return err
			}
		}
	}
	for name, s := range m.Shapes {
		for _, mem := range s.Members {
			if err := known(mem.Shape, name+"."+mem.Name); err != nil {
				return err
			}
		}
		for _, req := range s.Required {
			if !slices.ContainsFunc(s.Members, func(mem Member) bool { return mem.Name == req }) {
				return fmt.Errorf("model: %s requires unknown member %q", name, req)
			}
		}
		for _, ref := range []*Ref{s.Member, s.Key, s.Value} {
			if ref == nil {
				continue
			}
			if err := known(ref.Shape, name); err != nil {
				return err
			}
		}
	}
	return nil
}
