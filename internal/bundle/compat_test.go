package bundle

import (
	"strings"
	"testing"
)

func TestMinorVersionSchemaMustAcceptThePreviousSpecs(t *testing.T) {
	t.Parallel()
	schema := func(props map[string]*Type, required ...string) *Schema {
		return &Schema{EnvironmentInputType: "In", Types: map[string]*Type{"In": {Type: TypeObject, Properties: props, Required: required}}}
	}
	str := &Type{Type: TypeString}
	withDefault := &Type{Type: TypeString, Default: "x", HasDefault: true}
	prev := schema(map[string]*Type{"a": str, "b": str}, "a")
	tests := []struct {
		name string
		next *Schema
		want string // "" when compatible
	}{
		{"same schema", schema(map[string]*Type{"a": str, "b": str}, "a"), ""},
		{"optional input added", schema(map[string]*Type{"a": str, "b": str, "c": str}, "a"), ""},
		{"required input added with a default", schema(map[string]*Type{"a": str, "b": str, "c": withDefault}, "a", "c"), ""},
		{"required input added without a default", schema(map[string]*Type{"a": str, "b": str, "c": str}, "a", "c"), "input 'c' is newly required"},
		{"optional input made required", schema(map[string]*Type{"a": str, "b": str}, "a", "b"), "input 'b' is newly required"},
		{"input removed", schema(map[string]*Type{"a": str}, "a"), "input 'b' was removed"},
		{"input retyped", schema(map[string]*Type{"a": str, "b": {Type: TypeInteger}}, "a"), "input 'b' changed type from string to integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.next.CheckMinorCompatible(prev)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}
