package bundle

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a problem with a template bundle, worded for the template's
// author: it says what is wrong and where (file, line, tar entry). Hadron
// shows Message as the statusMessage of a REGISTRATION_FAILED version.
type Error struct {
	Message string
	err     error // the underlying cause, if any, for errors.Is/As
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the underlying cause, such as fs.ErrNotExist.
func (e *Error) Unwrap() error { return e.err }

// errorf returns an *Error with a formatted message.
func errorf(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// SpecError is a spec file that does not satisfy the template's schema. Input
// names the offending input (a dotted/indexed path for nested values, empty
// when the problem is not about one input); Instance names the service
// instance whose inputs are wrong, Pipeline is set for pipeline inputs.
type SpecError struct {
	Instance string
	Pipeline bool
	Input    string
	Message  string
	// Also holds the spec's other violations, in the order found: one call
	// reports every mistake it can see (the fields above are the first).
	Also []*SpecError
}

// Error reads like "invalid spec: input 'vpc_cidr': must match pattern ^10\.",
// prefixed by "instance 'name': " or "pipeline: " for service specs. With
// more than one violation it reads "invalid spec: 2 validation errors
// detected: input 'a': ...; input 'b': ...", as AWS words a request's
// violations, listing at most maxListed of them.
func (e *SpecError) Error() string {
	if len(e.Also) == 0 {
		return "invalid spec: " + e.detail()
	}
	all := append([]*SpecError{e}, e.Also...)
	n := len(all)
	var b strings.Builder
	fmt.Fprintf(&b, "invalid spec: %d validation errors detected", n)
	if n > maxListed {
		fmt.Fprintf(&b, " (the first %d follow)", maxListed)
		all = all[:maxListed]
	}
	b.WriteString(": ")
	for i, v := range all {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.detail())
	}
	return b.String()
}

// maxListed bounds the violations one message lists, keeping it readable.
const maxListed = 10

// detail is one violation without the "invalid spec: " prefix.
func (e *SpecError) detail() string {
	s := ""
	switch {
	case e.Instance != "":
		s += fmt.Sprintf("instance '%s': ", e.Instance)
	case e.Pipeline:
		s += "pipeline: "
	}
	if e.Input != "" {
		s += fmt.Sprintf("input '%s': ", e.Input)
	}
	return s + e.Message
}

// violations collects a spec's SpecErrors.
type violations struct{ list []*SpecError }

// add records err, flattening one that already holds several.
func (v *violations) add(err *SpecError) {
	also := err.Also
	first := *err
	first.Also = nil
	v.list = append(v.list, &first)
	v.list = append(v.list, also...)
}

// addError records err when it is a *SpecError and reports whether it was.
func (v *violations) addError(err error) bool {
	var se *SpecError
	if !errors.As(err, &se) {
		return false
	}
	v.add(se)
	return true
}

// err returns nil, the one violation, or the first holding the others.
func (v *violations) err() error {
	if len(v.list) == 0 {
		return nil
	}
	first := *v.list[0]
	first.Also = v.list[1:]
	return &first
}

// each applies f to every violation collected.
func (v *violations) each(f func(*SpecError)) {
	for _, e := range v.list {
		f(e)
	}
}
