package jinja

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func envVars(inputs map[string]any) map[string]any {
	return map[string]any{"environment": map[string]any{"name": "dev", "inputs": inputs}}
}

func TestRenderUndefinedNamesVariableAndLine(t *testing.T) {
	t.Parallel()
	vars := envVars(map[string]any{"subnets": []any{map[string]any{"cidr": "10.0.0.0/24"}}, "m": map[string]any{}})
	tests := []struct {
		name, source, undefined string
		line                    int
	}{
		{"attribute", "a: 1\nb: {{ environment.inputs.vpc_cidr }}\n", "environment.inputs.vpc_cidr", 2},
		{"top level name", "\n\n{{ pipeline.inputs.x }}", "pipeline", 3},
		{"item", "{{ environment.inputs['port'] }}", "environment.inputs['port']", 1},
		{"inside loop", "{% for s in environment.inputs.subnets %}\n\n{{ s.zone }}\n{% endfor %}", "s.zone", 3},
		{"deep", "x\n{{ environment.inputs.m.a.b }}", "environment.inputs.m.a", 2},
		{"filtered", "x\n{{ environment.inputs.name | upper }}", "environment.inputs.name", 2},
		{"if condition", "x\n\n{% if environment.inputs.flag %}y{% endif %}", "environment.inputs.flag", 3},
		// As Jinja2's StrictUndefined, only the last step of a lookup is
		// forgiven by "is defined" and default.
		{"parent of defined test", "{{ environment.inputs.m.a.b is defined }}", "environment.inputs.m.a", 1},
		{"parent of default", "{{ environment.inputs.m.a.b | default('x') }}", "environment.inputs.m.a", 1},
		{"parent name of default", "{{ nope.a | default('x') }}", "nope", 1},
		{"arithmetic operand", "x\n{{ environment.inputs.count * 2 }}", "environment.inputs.count", 2},
		{"loop iterable", "{% for s in environment.inputs.azs %}{{ s }}{% endfor %}", "environment.inputs.azs", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := Render("cloudformation.yaml", []byte(tt.source), vars)
			var rerr *Error
			if !errors.As(err, &rerr) {
				t.Fatalf("Render = %q, %v; want an *Error", out, err)
			}
			if rerr.Undefined != tt.undefined || rerr.Line != tt.line || rerr.Template != "cloudformation.yaml" {
				t.Fatalf("error %+v (%q), want undefined %q at line %d", rerr, err, tt.undefined, tt.line)
			}
			want := "cloudformation.yaml:" + itoa(tt.line) + ": " + tt.undefined + " is undefined"
			if err.Error() != want {
				t.Fatalf("message %q, want %q", err, want)
			}
		})
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestRenderDefinedChecksAndDefaultsDoNotFail(t *testing.T) {
	t.Parallel()
	src := "{{ environment.inputs.x is defined }} {{ environment.inputs.x | default('d') }} " +
		"{{ environment['inputs']['x'] is defined }} {{ nothing is undefined }}"
	out, err := Render("t", []byte(src), envVars(map[string]any{}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "False d False True"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestRenderMissingComponentIsEmpty(t *testing.T) {
	t.Parallel()
	src := "[{{ service_instance.components.default.outputs.Arn }}][{{ service_instance.components.default.name }}]"
	tests := []struct {
		name       string
		components any
		want       string
	}{
		{"no components key", nil, "[][]"},
		{"empty components", map[string]any{}, "[][]"},
		{"component without the output", map[string]any{"default": map[string]any{"name": "c", "outputs": map[string]any{}}}, "[][c]"},
		{"component with the output", map[string]any{"default": map[string]any{"name": "c", "outputs": map[string]any{"Arn": "arn:x"}}}, "[arn:x][c]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			si := map[string]any{"name": "i", "inputs": map[string]any{}}
			if tt.components != nil {
				si["components"] = tt.components
			}
			out, err := Render("t", []byte(src), map[string]any{"service_instance": si})
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Fatalf("got %q, want %q", out, tt.want)
			}
		})
	}
	// Only the components subtree is lenient.
	_, err := Render("t", []byte("{{ service_instance.inputs.nope }}"), map[string]any{"service_instance": map[string]any{"inputs": map[string]any{}}})
	if err == nil || !strings.Contains(err.Error(), "service_instance.inputs.nope is undefined") {
		t.Fatalf("err = %v, want service_instance.inputs.nope undefined", err)
	}
}

func TestRenderNumbersAsJinja2DoesFromJSON(t *testing.T) {
	t.Parallel()
	var decoded map[string]any
	if err := json.Unmarshal([]byte(`{"environment":{"inputs":{"port":80,"ratio":0.5,"big":3000000000,"neg":-2}}}`), &decoded); err != nil {
		t.Fatal(err)
	}
	src := "{{ environment.inputs.port }} {{ environment.inputs.ratio }} {{ environment.inputs.big }} {{ environment.inputs.neg }} {{ environment.inputs.port + 1 }}"
	out, err := Render("t", []byte(src), decoded)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "80 0.5 3000000000 -2 81"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// json.Number from a decoder with UseNumber works the same.
	out, err = Render("t", []byte("{{ environment.inputs.port }}"), envVars(map[string]any{"port": json.Number("443")}))
	if err != nil || string(out) != "443" {
		t.Fatalf("json.Number: got %q, %v", out, err)
	}
}

func TestRenderDoesNotModifyVars(t *testing.T) {
	t.Parallel()
	si := map[string]any{"name": "i", "inputs": map[string]any{"port": float64(80)}}
	vars := map[string]any{"service_instance": si}
	if _, err := Render("t", []byte("{{ service_instance.inputs.port }}"), vars); err != nil {
		t.Fatal(err)
	}
	if _, ok := si["components"]; ok {
		t.Fatal("Render added components to the caller's map")
	}
	if _, ok := si["inputs"].(map[string]any)["port"].(float64); !ok {
		t.Fatal("Render changed the caller's number")
	}
}

func TestRenderCannotReachHostFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(secret, []byte("TOP-SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{
		"{% include '" + secret + "' %}",
		"{% import '" + secret + "' as s %}",
		"{% from '" + secret + "' import x %}",
		"{% extends '" + secret + "' %}",
		"{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
	} {
		out, err := Render("t", []byte(src), nil)
		if err == nil || strings.Contains(string(out), "TOP-SECRET") {
			t.Fatalf("%s: got %q, %v; want a parse error", src, out, err)
		}
		if !strings.Contains(err.Error(), "not found") {
			t.Fatalf("%s: error %v, want the statement not found", src, err)
		}
	}
}

func TestRenderLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		source string
		limits Limits
	}{
		{"range too long", "{% for i in range(1000000000) %}{% endfor %}", Limits{}},
		{"too many loop iterations", "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", Limits{MaxSteps: 10_000}},
		{"output too large", "{% for i in range(100) %}{{ 'x' * 20000 }}{% endfor %}", Limits{MaxOutputBytes: 1 << 20}},
		{"repetition too large", "{% set s = 'ab' * 10000000000 %}", Limits{}},
		{"source too large", strings.Repeat("x", 1025), Limits{MaxSourceBytes: 1024}},
		// Nesting the parser would recurse on until the Go stack overflows.
		{"brackets nested deep", "{{ " + strings.Repeat("(", 50_000) + "1" + strings.Repeat(")", 50_000) + " }}", Limits{}},
		{"blocks nested deep", strings.Repeat("{% if true %}", 5_000) + strings.Repeat("{% endif %}", 5_000), Limits{}},
		{"set blocks nested deep", strings.Repeat("{% set x %}", 5_000), Limits{}},
		{"tag too long", "{{ x" + strings.Repeat(".a", 50_000) + " }}", Limits{}},
		{"timeout", "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}", Limits{MaxSteps: 1 << 40, Timeout: 50 * time.Millisecond}},
		{"list repetition too long", "{% for i in [1, 2] * 6000 %}{% endfor %}", Limits{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			out, err := RenderContext(context.Background(), "t", []byte(tt.source), nil, tt.limits)
			if !errors.Is(err, ErrLimit) {
				t.Fatalf("got %d bytes, %v; want ErrLimit", len(out), err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %s to stop", d)
			}
		})
	}
}

func TestRenderStopsWhenContextIsCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := RenderContext(ctx, "t", []byte("{% for i in range(10) %}x{% endfor %}"), nil, Limits{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestRenderErrorsInsteadOfPanicking(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		"{{", "{% for %}", "{% endfor %}", "{{ [1][5] }}", "{{ 'a' | nosuchfilter }}",
		"{% if %}", "{{ 5 | proton_cfn_ecs_task_definition_formatted_env_vars }}",
		"{{ (((((((((( 1 }}", "{% set x = %}", "{{ range(1, 2, 0) | list }}", "{{ x is nosuchtest }}",
	} {
		if _, err := Render("t", []byte(src), envVars(map[string]any{})); err == nil {
			t.Errorf("%q rendered without error", src)
		}
	}
}

func TestRenderConcurrently(t *testing.T) {
	t.Parallel()
	src := []byte("{% for s in environment.inputs.subnets %}{{ s | proton_cfn_sanitize }}{{ loop.index }}{% endfor %}")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			vars := envVars(map[string]any{"subnets": []any{"a-" + itoa(i), "b"}})
			out, err := Render("t", src, vars)
			if err != nil {
				t.Error(err)
				return
			}
			if want := "a" + itoa(i) + "1b2"; string(out) != want {
				t.Errorf("got %q, want %q", out, want)
			}
		})
	}
	wg.Wait()
}

// FuzzRender pins that no template panics out of the renderer (gonja's own
// panics, such as on an empty raw block, come back as errors), hangs it, or
// makes it output past its limit. The seeds are the corpus templates.
func FuzzRender(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "cases", "*", "cloudformation.yaml"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	vars := map[string]any{
		"environment":      map[string]any{"name": "dev", "inputs": map[string]any{"subnets": []any{"a", "b"}, "port": 80}, "outputs": map[string]any{"VpcId": "v"}},
		"service":          map[string]any{"name": "s"},
		"service_instance": map[string]any{"name": "i", "inputs": map[string]any{"env_vars": map[string]any{"A": "1"}}},
	}
	f.Fuzz(func(t *testing.T, src string) {
		var (
			out  []byte
			err  error
			done = make(chan struct{})
		)
		go func() {
			defer close(done)
			out, err = RenderContext(context.Background(), "t", []byte(src), vars, Limits{MaxSteps: 10_000, MaxOutputBytes: 1 << 20, Timeout: 2 * time.Second})
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("rendering %q did not stop within 10s of a 2s timeout", src)
		}
		var rerr *Error
		if err != nil && !errors.As(err, &rerr) {
			t.Fatalf("error %v is not an *Error", err)
		}
		if len(out) > 1<<20 {
			t.Fatalf("output of %d bytes", len(out))
		}
	})
}

func TestRenderTakesOtherGoValuesAsTheirJSON(t *testing.T) {
	t.Parallel()
	type output struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	vars := map[string]any{"environment": map[string]any{
		"name":    "dev",
		"inputs":  map[string]string{"cidr": "10.0.0.0/16"},
		"outputs": []output{{"VpcId", "vpc-1"}},
		"count":   3,
	}}
	out, err := Render("t", []byte("{{ environment.inputs.cidr }} {{ environment.outputs[0].value }} {{ environment.count * 2 }}"), vars)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "10.0.0.0/16 vpc-1 6"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestRenderRewritesArithmeticEverywhere pins that the operator rewrite
// reaches every place gonja keeps an expression (some in unexported
// fields): gonja's own ** would print 8.0.
func TestRenderRewritesArithmeticEverywhere(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, source string }{
		{"output", "{{ 2 ** 3 }}"},
		{"set", "{% set x = 2 ** 3 %}{{ x }}"},
		{"set block", "{% set x %}{{ 2 ** 3 }}{% endset %}{{ x }}"},
		{"with", "{% with x = 2 ** 3 %}{{ x }}{% endwith %}"},
		{"if condition", "{% if 2 ** 3 == 8 %}8{% endif %}"},
		{"inline if", "{{ 2 ** 3 if true else 0 }}"},
		{"for iterable", "{% for x in [2 ** 3] %}{{ x }}{% endfor %}"},
		{"for filter", "{% for x in [1, 8] if x == 2 ** 3 %}{{ x }}{% endfor %}"},
		{"filter argument", "{{ not_set | default(2 ** 3) }}"},
		{"filter block argument", "{% filter replace('x', (2 ** 3) | string) %}x{% endfilter %}"},
		{"dict literal", "{{ {'a': 2 ** 3}['a'] }}"},
		{"nested", "{{ [[2 ** 3]][0][0] }}"},
		{"call argument", "{{ range(2 ** 3) | length }}"},
		{"method argument", "{{ 'x'.replace('x', (2 ** 3) | string) }}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := Render("t", []byte(tt.source), nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != "8" {
				t.Fatalf("got %q, want 8", out)
			}
		})
	}
}
