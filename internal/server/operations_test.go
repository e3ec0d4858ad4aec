package server

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/awsjson"
	"github.com/hadronhq/hadron/internal/proton"
)

// A method of proton.API named after an operation but with other types
// than the model's would silently not be served: every such method must be
// bound.
func TestEveryOperationMethodIsServed(t *testing.T) {
	t.Parallel()
	var s awsjson.Server
	served := register(&s, new(proton.API))
	if len(served) == 0 {
		t.Fatal("no operation is served")
	}
	typ := reflect.TypeFor[*proton.API]()
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		if !api.HasOperation(name) {
			continue
		}
		if !slices.Contains(served, name) || !s.Handled(name) {
			t.Errorf("proton.API.%s is not served: its signature is not func(context.Context, *api.%s) (*api.%s, error)",
				name, api.Operations[name].Input, api.Operations[name].Output)
		}
	}
}

// Every operation of the model has a handler: none answers
// UnknownOperationException. There is no list of exceptions; an operation
// added to the model fails this test until a method of proton.API serves it.
func TestEveryOperationOfTheModelIsServed(t *testing.T) {
	t.Parallel()
	var s awsjson.Server
	register(&s, new(proton.API))
	for _, op := range slices.Sorted(maps.Keys(api.Operations)) {
		if !s.Handled(op) {
			t.Errorf("%s has no handler: it answers UnknownOperationException", op)
		}
	}
}
