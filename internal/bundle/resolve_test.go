package bundle

import (
	"strings"
	"testing"
)

func TestResolveCurrentValuesReplacesThePlaceholderWithTheValueItStoodFor(t *testing.T) {
	t.Parallel()
	values := map[string]any{"spec/port": int64(8080), "instance:one/image": "nginx", "pipeline/stages": int64(3)}
	lookup := func(section, input string) (any, bool) {
		v, ok := values[section+"/"+input]
		return v, ok
	}
	tests := []struct {
		name, spec string
		want, keep []string
	}{
		{"environment", "proton: EnvironmentSpec\nspec:\n  port: \"${Proton::CURRENT_VAL}\"\n  name: web # a comment\n",
			[]string{"port: 8080", "name: web", "# a comment"}, nil},
		{"service", "proton: ServiceSpec\npipeline:\n  stages: \"${Proton::CURRENT_VAL}\"\ninstances:\n  - name: one\n    environment: e\n    spec:\n      image: \"${Proton::CURRENT_VAL}\"\n  - name: two\n    environment: e\n    spec:\n      image: \"${Proton::CURRENT_VAL}\"\n",
			[]string{"stages: 3", "image: nginx"}, []string{"${Proton::CURRENT_VAL}"}},
		{"no placeholder", "proton: EnvironmentSpec\nspec: {port: 1}\n", []string{"spec: {port: 1}"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ResolveCurrentValues(tt.spec, lookup)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("resolved spec lacks %q:\n%s", w, got)
				}
			}
			for _, k := range tt.keep { // an instance the lookup does not know keeps its placeholder
				if !strings.Contains(got, k) {
					t.Errorf("resolved spec lost %q:\n%s", k, got)
				}
			}
		})
	}
}
