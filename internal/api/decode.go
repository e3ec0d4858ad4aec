package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hadronhq/hadron/internal/api/internal/model"
)

// MaxDepth is how deeply a request body may nest arrays and objects. The deepest
// input shape of the model nests far less; the limit keeps hostile bodies from
// costing stack and memory.
const MaxDepth = 64

// ValidationError is a request that is well-formed but breaks a constraint of
// the model; it becomes a ValidationException. Message is in the words AWS
// uses ("1 validation error detected: Value 'x' at 'name' failed to satisfy
// constraint: ...").
type ValidationError struct {
	Message string
}

func (e *ValidationError) Error() string { return e.Message }

// SerializationError is a request body that is not JSON, or not of the JSON
// types of the input shape; it becomes a SerializationException.
type SerializationError struct {
	Message string
}

func (e *SerializationError) Error() string { return e.Message }

//go:embed model.json
var modelJSON []byte

// spec returns the embedded model with its patterns compiled, ready for
// Decode. It is built on first use, not at process start: provisioning
// commands re-execute the hadron binary as their supervisor, and every
// millisecond of package initialisation delays each command.
var spec = sync.OnceValue(func() *compiled { return mustCompile(modelJSON) })

// Load prepares the model now, so that the first request does not pay for it.
func Load() { spec() }

type compiled struct {
	*model.Model
	patterns map[string]*regexp.Regexp // by shape name
	secret   map[string]bool           // shapes that are or hold a sensitive shape
}

func mustCompile(data []byte) *compiled {
	m, err := model.Parse(data)
	if err != nil {
		panic(err) // the embedded model is generated and tested; this is a build defect
	}
	c := &compiled{Model: m, patterns: map[string]*regexp.Regexp{}, secret: map[string]bool{}}
	for name, s := range m.Shapes {
		c.secret[name] = holdsSensitive(m, name, map[string]bool{})
		if s.Pattern != "" {
			// Smithy patterns are not implicitly anchored: a match anywhere
			// counts, which is what regexp.MatchString does.
			c.patterns[name] = regexp.MustCompile(s.Pattern)
		}
	}
	return c
}

// holdsSensitive reports whether a shape is sensitive or holds one that is, so
// that a list or structure is not echoed whole with a secret inside.
func holdsSensitive(m *model.Model, name string, seen map[string]bool) bool {
	if seen[name] {
		return false
	}
	seen[name] = true
	s := m.Shapes[name]
	if s.Sensitive {
		return true
	}
	refs := []*model.Ref{s.Member, s.Key, s.Value}
	for _, mem := range s.Members {
		refs = append(refs, &model.Ref{Shape: mem.Shape})
	}
	for _, ref := range refs {
		if ref != nil && holdsSensitive(m, ref.Shape, seen) {
			return true
		}
	}
	return false
}

// Decode checks body against the input shape of operation and decodes it into
// v, which must point to that shape's type (Operations[operation].NewInput
// makes one). An empty body is an empty object; unknown members are ignored and
// a JSON null is an absent member, as AWS does.
//
// It returns a *SerializationError when the body is not a JSON object of the
// right member types, a *ValidationError listing every broken constraint in
// member order, and a plain error for a programming mistake (an unknown
// operation, or v of the wrong type). v is unchanged unless Decode succeeds.
func Decode(operation string, body []byte, v any) error {
	op, ok := spec().Operations[operation]
	if !ok {
		return fmt.Errorf("decode: unknown operation %q", operation)
	}
	if rt := reflect.TypeOf(v); rt == nil || rt.Kind() != reflect.Pointer || rt.Elem().Name() != op.Input {
		return fmt.Errorf("decode %s: want *%s, got %T", operation, op.Input, v)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	// encoding/json would store each invalid byte as U+FFFD; AWS refuses them.
	if !utf8.Valid(body) {
		return &SerializationError{Message: fmt.Sprintf("the request body is not valid UTF-8 (invalid byte at offset %d)", invalidUTF8At(body))}
	}
	doc, err := parse(body)
	if err != nil {
		return err
	}
	if _, ok := doc.(map[string]any); !ok {
		return &SerializationError{Message: "expected a JSON object, got " + kind(doc)}
	}
	c := &checker{}
	clean, err := c.walk(op.Input, doc, "", false)
	if err != nil {
		return err
	}
	if len(c.violations) > 0 {
		return &ValidationError{Message: validationMessage(c.violations)}
	}
	// Decode what was checked, not the body: encoding/json matches member names
	// case-insensitively, so {"NAME": ...} would otherwise bypass validation.
	checked, err := json.Marshal(clean)
	if err != nil {
		return fmt.Errorf("decode %s: %w", operation, err)
	}
	if err := json.Unmarshal(checked, v); err != nil {
		// The body matched the model, so the generated type disagrees with it.
		return fmt.Errorf("decode %s into %T: %w", operation, v, err)
	}
	return nil
}

// invalidUTF8At is the offset of the first byte of body that is not part of
// valid UTF-8.
func invalidUTF8At(body []byte) int {
	for i := 0; i < len(body); {
		r, n := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// parse decodes one JSON value, numbers kept as json.Number.
func parse(body []byte) (any, error) {
	if depth(body) > MaxDepth {
		return nil, &SerializationError{Message: fmt.Sprintf("request body nests deeper than %d levels", MaxDepth)}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, &SerializationError{Message: "request body is not valid JSON: " + err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &SerializationError{Message: "request body is not valid JSON: data after the top-level value"}
	}
	return doc, nil
}

// depth returns the deepest nesting of arrays and objects in body, stopping
// early once past MaxDepth. Brackets inside strings do not count.
func depth(body []byte) int {
	var d, deepest int
	inString, escaped := false, false
	for _, c := range body {
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case inString:
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			d++
			if deepest = max(deepest, d); deepest > MaxDepth {
				return deepest
			}
		case c == ']' || c == '}':
			d--
		}
	}
	return deepest
}

// checker walks a decoded body against a shape. JSON type errors end the walk
// (they are a SerializationError); constraint violations are collected.
type checker struct {
	violations []string
}

// violate records a constraint violation in the AWS wording. value is the
// already quoted value, or "null".
func (c *checker) violate(value, path, constraint string) {
	c.violations = append(c.violations,
		fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", value, path, constraint))
}

// walk checks v against shape and returns v without unknown members and nulls.
// sensitive is true under a sensitive shape: values there are never echoed.
func (c *checker) walk(shapeName string, v any, path string, sensitive bool) (any, error) {
	s := spec().Shapes[shapeName]
	sensitive = sensitive || s.Sensitive
	typeErr := func(want string) error {
		return &SerializationError{Message: fmt.Sprintf("%q: expected %s, got %s", path, want, kind(v))}
	}
	switch s.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, typeErr("object")
		}
		return c.structure(shapeName, s, obj, path, sensitive)
	case "list":
		arr, ok := v.([]any)
		if !ok {
			return nil, typeErr("array")
		}
		c.length(s, len(arr), v, path, sensitive || spec().secret[shapeName])
		out := make([]any, len(arr))
		for i, elem := range arr {
			elemPath := fmt.Sprintf("%s.%d.member", path, i+1)
			if elem == nil {
				return nil, &SerializationError{Message: fmt.Sprintf("%q: expected a value, got null", elemPath)}
			}
			var err error
			if out[i], err = c.walk(s.Member.Shape, elem, elemPath, sensitive); err != nil {
				return nil, err
			}
		}
		return out, nil
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, typeErr("object")
		}
		c.length(s, len(obj), v, path, sensitive || spec().secret[shapeName])
		out := make(map[string]any, len(obj))
		for _, key := range sortedKeys(obj) {
			if obj[key] == nil {
				continue
			}
			if _, err := c.walk(s.Key.Shape, key, path+".key", sensitive); err != nil {
				return nil, err
			}
			val, err := c.walk(s.Value.Shape, obj[key], path+"."+key, sensitive)
			if err != nil {
				return nil, err
			}
			out[key] = val
		}
		return out, nil
	case "string":
		str, ok := v.(string)
		if !ok {
			return nil, typeErr("string")
		}
		c.length(s, utf8.RuneCountInString(str), v, path, sensitive)
		if re := spec().patterns[shapeName]; re != nil && !re.MatchString(str) {
			c.violate(quote(v, sensitive), path, "Member must satisfy regular expression pattern: "+s.Pattern)
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			c.violate(quote(v, sensitive), path, "Member must satisfy enum value set: ["+strings.Join(s.Enum, ", ")+"]")
		}
		return str, nil
	case "integer", "long":
		num, ok := v.(json.Number)
		if !ok {
			return nil, typeErr("integer")
		}
		bits := map[string]int{"integer": 32, "long": 64}[s.Type]
		n, err := strconv.ParseInt(num.String(), 10, bits)
		if errors.Is(err, strconv.ErrRange) {
			return nil, &SerializationError{Message: fmt.Sprintf("%q: %s does not fit in %d bits", path, num, bits)}
		} else if err != nil {
			return nil, typeErr("integer")
		}
		if s.Min != nil && n < *s.Min {
			c.violate(quote(v, sensitive), path, fmt.Sprintf("Member must have value greater than or equal to %d", *s.Min))
		}
		if s.Max != nil && n > *s.Max {
			c.violate(quote(v, sensitive), path, fmt.Sprintf("Member must have value less than or equal to %d", *s.Max))
		}
		return num, nil
	case "boolean":
		if _, ok := v.(bool); !ok {
			return nil, typeErr("boolean")
		}
		return v, nil
	case "timestamp":
		num, ok := v.(json.Number)
		if !ok {
			return nil, typeErr("number of epoch seconds")
		}
		if _, err := parseEpoch(num.String()); err != nil {
			return nil, &SerializationError{Message: fmt.Sprintf("%q: %v", path, err)}
		}
		return num, nil
	}
	return nil, fmt.Errorf("decode %s: shape %s has unsupported type %q", path, shapeName, s.Type)
}

func (c *checker) structure(name string, s *model.Shape, obj map[string]any, path string, sensitive bool) (any, error) {
	out := make(map[string]any, len(s.Members))
	for _, mem := range s.Members {
		memPath := mem.Name
		if path != "" {
			memPath = path + "." + mem.Name
		}
		val := obj[mem.Name]
		if val == nil {
			if s.IsRequired(mem.Name) {
				c.violate("null", memPath, "Member must not be null")
			}
			continue
		}
		clean, err := c.walk(mem.Shape, val, memPath, sensitive)
		if err != nil {
			return nil, err
		}
		out[mem.Name] = clean
	}
	if s.Union && len(out) != 1 {
		// Name the members that are set, never their values.
		set, names := make([]string, 0, len(out)), make([]string, len(s.Members))
		for i, mem := range s.Members {
			names[i] = mem.Name
			if _, ok := out[mem.Name]; ok {
				set = append(set, mem.Name)
			}
		}
		c.violate("'{"+strings.Join(set, ", ")+"}'", path,
			"Member must have exactly one of its members set: ["+strings.Join(names, ", ")+"]")
	}
	return out, nil
}

// length checks the length of a string (in code points), list or map.
func (c *checker) length(s *model.Shape, n int, v any, path string, sensitive bool) {
	if s.Min != nil && int64(n) < *s.Min {
		c.violate(quote(v, sensitive), path, fmt.Sprintf("Member must have length greater than or equal to %d", *s.Min))
	}
	if s.Max != nil && int64(n) > *s.Max {
		c.violate(quote(v, sensitive), path, fmt.Sprintf("Member must have length less than or equal to %d", *s.Max))
	}
}

// validationMessage joins violations as AWS does.
func validationMessage(violations []string) string {
	noun := "errors"
	if len(violations) == 1 {
		noun = "error"
	}
	return fmt.Sprintf("%d validation %s detected: %s", len(violations), noun, strings.Join(violations, "; "))
}

// quote renders a value for a message: 'x' for a string, '[a, b]' for a list
// (the way AWS prints them), and '***' for anything sensitive, since specs and
// descriptions may hold secrets.
func quote(v any, sensitive bool) string {
	if sensitive {
		return "'***'"
	}
	return "'" + render(v) + "'"
}

func render(v any) string {
	switch v := v.(type) {
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = render(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		parts := make([]string, 0, len(v))
		for _, k := range sortedKeys(v) {
			parts = append(parts, k+"="+render(v[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

// kind names the JSON type of a decoded value.
func kind(v any) string {
	switch v := v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number " + v.String()
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
