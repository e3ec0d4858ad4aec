package jinja

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/exec"
)

// newFilters is Jinja2's built-in filters as gonja has them, with default
// and tojson made to behave as Jinja2's, plus Proton's four filters.
func newFilters() *exec.FilterSet {
	fs := exec.NewFilterSet(map[string]exec.FilterFunction{}).Update(builtins.Filters)
	must(fs.Replace("default", filterDefault))
	must(fs.Replace("d", filterDefault))
	must(fs.Replace("tojson", filterToJSON))
	items, _ := fs.Get("items")
	must(fs.Replace("items", sortedItems(items)))
	must(fs.Register("proton_cfn_sanitize", filterSanitize))
	must(fs.Register("proton_cfn_ecs_task_definition_formatted_env_vars", filterECSEnvVars))
	must(fs.Register("proton_cfn_lambda_function_formatted_env_vars", filterLambdaEnvVars))
	must(fs.Register("proton_cfn_iam_policy_arns", filterIAMPolicyARNs))
	return fs
}

// newTests is Jinja2's tests as gonja has them, with defined/undefined
// aware of missing component values.
func newTests() *exec.TestSet {
	ts := exec.NewTestSet(map[string]exec.TestFunction{}).Update(builtins.Tests)
	must(ts.Replace("defined", func(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) (bool, error) {
		if undefinedParent(in) {
			return false, in
		}
		return !isUndefined(in), nil
	}))
	must(ts.Replace("none", func(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) (bool, error) {
		_, ok := in.Interface().(noneValue)
		return ok || (in.IsNil() && !in.IsError()), nil
	}))
	must(ts.Replace("undefined", func(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) (bool, error) {
		if undefinedParent(in) {
			return false, in
		}
		return isUndefined(in), nil
	}))
	return ts
}

// undefinedParent reports whether a lookup failed before its last step, as
// x.y with x undefined: Jinja2's StrictUndefined fails there even under
// "is defined" and default, which only forgive the last step.
func undefinedParent(v *exec.Value) bool {
	return v.IsError() && strings.HasPrefix(strings.ToLower(v.Error()), "unable to evaluate target ")
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// filterDefault is Jinja2's default filter: the default (an empty string
// unless given) replaces an undefined value, or with boolean=true any false
// value.
func filterDefault(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	def := exec.AsValue("")
	boolean := false
	if len(params.Args) > 0 {
		def = params.Args[0]
	}
	if len(params.Args) > 1 {
		boolean = params.Args[1].IsTrue()
	}
	if v, ok := params.KwArgs["default_value"]; ok {
		def = v
	}
	if v, ok := params.KwArgs["boolean"]; ok {
		boolean = v.IsTrue()
	}
	if undefinedParent(in) {
		return in
	}
	if isUndefined(in) || (boolean && !in.IsTrue()) {
		return def
	}
	return in
}

// sortedItems puts the items filter's (key, value) pairs in key order, the
// order in which the rest of the renderer iterates a mapping, rather than
// Go's random map order.
func sortedItems(items exec.FilterFunction) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		out := items(e, in, params)
		if out.IsError() || in.IsList() {
			return out
		}
		rv := reflect.ValueOf(out.Interface())
		if rv.Kind() != reflect.Slice {
			return out
		}
		key := func(i int) string {
			pair := reflect.ValueOf(rv.Index(i).Interface())
			if pair.Kind() != reflect.Slice || pair.Len() == 0 {
				return ""
			}
			return fmt.Sprint(pair.Index(0).Interface())
		}
		keys := make([]string, rv.Len())
		for i := range keys {
			keys[i] = key(i)
		}
		swap := reflect.Swapper(rv.Interface())
		sort.Sort(pairSorter{keys, swap})
		return out
	}
}

type pairSorter struct {
	keys []string
	swap func(i, j int)
}

func (p pairSorter) Len() int           { return len(p.keys) }
func (p pairSorter) Less(i, j int) bool { return p.keys[i] < p.keys[j] }
func (p pairSorter) Swap(i, j int) {
	p.keys[i], p.keys[j] = p.keys[j], p.keys[i]
	p.swap(i, j)
}

// filterToJSON is Jinja2's tojson: json.dumps with sorted keys and Python's
// separators, then <, >, & and ' escaped for HTML.
func filterToJSON(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	indent := -1
	if v, ok := params.KwArgs["indent"]; ok {
		indent = v.Integer()
	} else if len(params.Args) > 0 {
		indent = params.Args[0].Integer()
	}
	s, err := pyJSON(in.Interface(), indent)
	if err != nil {
		return exec.AsValue(fmt.Errorf("tojson: %w", err))
	}
	s = strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`, "'", `\u0027`).Replace(s)
	return exec.AsSafeValue(s)
}

// filterSanitize makes a CloudFormation logical ID: alphanumerics only.
func filterSanitize(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var b strings.Builder
	for _, r := range in.String() {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return exec.AsValue(b.String())
}

// filterECSEnvVars turns a mapping of environment variables into an ECS
// container definition's Environment: a JSON (so also YAML flow) list of
// {"Name": ..., "Value": ...} in key order.
func filterECSEnvVars(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	keys, m, err := envMap(in)
	if err != nil {
		return exec.AsValue(fmt.Errorf("proton_cfn_ecs_task_definition_formatted_env_vars: %w", err))
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		v, err := envString(m[k])
		if err != nil {
			return exec.AsValue(fmt.Errorf("proton_cfn_ecs_task_definition_formatted_env_vars: %w", err))
		}
		fmt.Fprintf(&b, `{"Name": %s, "Value": %s}`, pyString(k), pyString(v))
	}
	b.WriteByte(']')
	return exec.AsSafeValue(b.String())
}

// filterLambdaEnvVars turns a mapping of environment variables into a
// Lambda function's Environment: {"Variables": {name: value, ...}}.
func filterLambdaEnvVars(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	keys, m, err := envMap(in)
	if err != nil {
		return exec.AsValue(fmt.Errorf("proton_cfn_lambda_function_formatted_env_vars: %w", err))
	}
	var b strings.Builder
	b.WriteString(`{"Variables": {`)
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		v, err := envString(m[k])
		if err != nil {
			return exec.AsValue(fmt.Errorf("proton_cfn_lambda_function_formatted_env_vars: %w", err))
		}
		b.WriteString(pyString(k) + ": " + pyString(v))
	}
	b.WriteString("}}")
	return exec.AsSafeValue(b.String())
}

// filterIAMPolicyARNs turns a list of policy ARNs, or one string of them
// separated by commas, into the JSON list ManagedPolicyArns expects.
func filterIAMPolicyARNs(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var arns []string
	switch v := in.Interface().(type) {
	case string:
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				arns = append(arns, p)
			}
		}
	case []any:
		for _, e := range v {
			s, err := envString(e)
			if err != nil {
				return exec.AsValue(fmt.Errorf("proton_cfn_iam_policy_arns: %w", err))
			}
			arns = append(arns, s)
		}
	case missing, noneValue:
	default:
		if !in.IsNil() {
			return exec.AsValue(fmt.Errorf("proton_cfn_iam_policy_arns: expects a list or a string, got %T", v))
		}
	}
	parts := make([]string, len(arns))
	for i, a := range arns {
		parts[i] = pyString(a)
	}
	return exec.AsSafeValue("[" + strings.Join(parts, ", ") + "]")
}

func envMap(in *exec.Value) ([]string, map[string]any, error) {
	if in.IsError() {
		return nil, nil, in
	}
	var m map[string]any
	switch v := in.Interface().(type) {
	case map[string]any:
		m = v
	case componentDict:
		m = v
	case missing:
	default:
		return nil, nil, fmt.Errorf("expects a mapping of variable names to values, got %T", v)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, m, nil
}

// envString is an environment variable's value as CloudFormation wants it,
// a string: booleans in JSON's spelling, numbers as Python prints them,
// structures as JSON.
func envString(v any) (string, error) {
	switch v := v.(type) {
	case nil, noneValue:
		return "", nil
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case map[string]any, componentDict, []any:
		return pyJSON(v, -1)
	default:
		return pyJSON(v, -1)
	}
}

// pyJSON encodes v as Python's json.dumps(v, sort_keys=True, indent=indent)
// does (indent < 0 is no indent).
func pyJSON(v any, indent int) (string, error) {
	var b strings.Builder
	if err := writePyJSON(&b, v, indent, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writePyJSON(b *strings.Builder, v any, indent, depth int) error {
	if depth > 100 {
		return errors.New("value nested too deeply")
	}
	sep := func(i int, closing bool) {
		if indent < 0 {
			if i > 0 && !closing {
				b.WriteString(", ")
			}
			return
		}
		if i > 0 && !closing {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
		n := depth + 1
		if closing {
			n = depth
		}
		b.WriteString(strings.Repeat(" ", n*indent))
	}
	switch v := v.(type) {
	case nil, noneValue:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case string:
		b.WriteString(pyString(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case int:
		b.WriteString(strconv.Itoa(v))
	case float64:
		b.WriteString(pyJSONFloat(v))
	case map[string]any:
		return writePyJSONMap(b, v, indent, depth, sep)
	case componentDict:
		return writePyJSONMap(b, v, indent, depth, sep)
	case *exec.Value:
		// Lists and dicts written in the template hold the engine's values.
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		return writePyJSON(b, v.Interface(), indent, depth)
	case *exec.Dict:
		m := make(map[string]any, len(v.Pairs))
		for _, p := range v.Pairs {
			if !p.Key.IsString() {
				return errors.New("tojson: only string keys are supported")
			}
			m[p.Key.String()] = p.Value
		}
		return writePyJSONMap(b, m, indent, depth, sep)
	case exec.Dict:
		return writePyJSON(b, &v, indent, depth)
	case missing:
		return errors.New("a missing component value is not JSON serializable")
	case []any:
		return writePyJSONList(b, v, indent, depth, sep)
	default:
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Slice {
			l := make([]any, rv.Len())
			for i := range l {
				l[i] = rv.Index(i).Interface()
			}
			return writePyJSONList(b, l, indent, depth, sep)
		}
		return fmt.Errorf("a %T is not JSON serializable", v)
	}
	return nil
}

func writePyJSONMap(b *strings.Builder, m map[string]any, indent, depth int, sep func(int, bool)) error {
	if len(m) == 0 {
		b.WriteString("{}")
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteByte('{')
	for i, k := range keys {
		sep(i, false)
		b.WriteString(pyString(k) + ": ")
		if err := writePyJSON(b, m[k], indent, depth+1); err != nil {
			return err
		}
	}
	sep(len(keys), true)
	b.WriteByte('}')
	return nil
}

func writePyJSONList(b *strings.Builder, l []any, indent, depth int, sep func(int, bool)) error {
	if len(l) == 0 {
		b.WriteString("[]")
		return nil
	}
	b.WriteByte('[')
	for i, e := range l {
		sep(i, false)
		if err := writePyJSON(b, e, indent, depth+1); err != nil {
			return err
		}
	}
	sep(len(l), true)
	b.WriteByte(']')
	return nil
}

// pyJSONFloat is Python's float repr as json.dumps writes it.
func pyJSONFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// pyString is a JSON string as Python writes it with ensure_ascii: every
// non-ASCII character escaped as \uXXXX (surrogate pairs beyond the BMP).
func pyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || (r >= 0x7f && r < 0x10000):
			if r == 0x7f {
				b.WriteRune(r)
				continue
			}
			fmt.Fprintf(&b, `\u%04x`, r)
		case r >= 0x10000:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
