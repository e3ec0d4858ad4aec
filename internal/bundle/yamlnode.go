package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits on the values Hadron builds out of YAML. The parser does not expand
// aliases; the conversion to Go values below does, so it is where a "billion
// laughs" document (aliases of aliases of aliases) must be stopped.
const (
	maxValueNodes = 100_000 // nodes visited while converting one document, aliases expanded
	maxValueDepth = 64      // nesting of mappings and sequences, aliases included
)

// parseYAML parses every document of a YAML file (all must be valid) and
// returns the first one's content node, or nil for a file with no content.
// Syntax errors name the file and, when the parser knows it, the line.
func parseYAML(file string, data []byte) (doc *yaml.Node, err error) {
	defer func() {
		// The parser should never panic, but a bundle is untrusted input and a
		// panic here would take the registration goroutine and the server down.
		if r := recover(); r != nil {
			doc, err = nil, errorf("%s: invalid YAML: the parser failed: %v", file, r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return doc, nil
		}
		if err != nil {
			return nil, yamlError(file, err)
		}
		if i == 0 && len(n.Content) > 0 {
			doc = n.Content[0]
		}
	}
}

// yamlError rewrites the parser's "yaml: line 7: msg" as "file: line 7: msg".
func yamlError(file string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if strings.HasPrefix(msg, "line ") {
		return &Error{Message: fmt.Sprintf("%s: %s", file, msg), err: err}
	}
	return &Error{Message: fmt.Sprintf("%s: invalid YAML: %s", file, msg), err: err}
}

// nodeError is an *Error about the node n of file.
func nodeError(file string, n *yaml.Node, format string, args ...any) *Error {
	return errorf("%s: line %d: %s", file, n.Line, fmt.Sprintf(format, args...))
}

// deref follows aliases (bounded, since an alias may point at an enclosing
// node) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxValueDepth; i++ {
		n = n.Alias
	}
	return n
}

// kindName names a node's kind for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an alias"
}

// keyValue is one entry of a YAML mapping.
type keyValue struct {
	key   string
	keyN  *yaml.Node
	value *yaml.Node
}

// mapping returns the entries of a mapping node in order; what says what
// the node is, for the error when it is not a mapping or repeats a key.
func mapping(file string, n *yaml.Node, what string) ([]keyValue, error) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, nodeError(file, n, "%s must be a mapping, not %s", what, kindName(n))
	}
	seen := map[string]*yaml.Node{}
	out := make([]keyValue, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := deref(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			return nil, nodeError(file, k, "%s: keys must be plain names, not %s", what, kindName(k))
		}
		if first, dup := seen[k.Value]; dup {
			return nil, nodeError(file, k, "%s: key %q appears twice (first at line %d)", what, k.Value, first.Line)
		}
		seen[k.Value] = k
		out = append(out, keyValue{key: k.Value, keyN: k, value: deref(n.Content[i+1])})
	}
	return out, nil
}

// isNull reports whether n is absent or an explicit YAML null.
func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// scalarString returns a scalar's text; what names it for the error when n
// is a mapping or a list.
func scalarString(file string, n *yaml.Node, what string) (string, error) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return "", nodeError(file, n, "%s must be a string, not %s", what, kindName(n))
	}
	return n.Value, nil
}

// stringList returns the strings of a sequence node.
func stringList(file string, n *yaml.Node, what string) ([]string, error) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		return nil, nodeError(file, n, "%s must be a list of strings, not %s", what, kindName(n))
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		s, err := scalarString(file, c, fmt.Sprintf("%s[%d]", what, i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// converter turns YAML nodes into Go values (see the package doc for the
// types), expanding aliases within a budget.
type converter struct {
	budget int
}

func newConverter() *converter { return &converter{budget: maxValueNodes} }

// errTooComplex is returned for documents over the node or depth budget.
var errTooComplex = errors.New("the document is nested too deeply or expands to too many values (through aliases)")

// value converts n. Errors other than errTooComplex are *valueError.
func (c *converter) value(n *yaml.Node, depth int) (any, error) {
	c.budget--
	if c.budget < 0 || depth > maxValueDepth {
		return nil, errTooComplex
	}
	switch n.Kind {
	case yaml.AliasNode:
		return c.value(n.Alias, depth+1)
	case yaml.ScalarNode:
		return scalarValue(n)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, e := range n.Content {
			v, err := c.value(e, depth+1)
			if err != nil {
				return nil, prefixValueError(err, fmt.Sprintf("[%d]", i))
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := deref(n.Content[i])
			if k == nil || k.Kind != yaml.ScalarNode {
				return nil, &valueError{line: n.Content[i].Line, msg: "mapping keys must be plain names"}
			}
			if _, dup := out[k.Value]; dup {
				return nil, &valueError{path: k.Value, line: k.Line, msg: "appears twice"}
			}
			v, err := c.value(n.Content[i+1], depth+1)
			if err != nil {
				return nil, prefixValueError(err, k.Value)
			}
			out[k.Value] = v
		}
		return out, nil
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth+1)
	}
	return nil, &valueError{line: n.Line, msg: "unsupported YAML node"}
}

// valueError is a value YAML cannot carry into Hadron (an infinite number, a
// key that is not a string), at path within the converted node.
type valueError struct {
	path string
	line int
	msg  string
}

func (e *valueError) Error() string { return e.msg }

// prefixValueError puts elem in front of a valueError's path.
func prefixValueError(err error, elem string) error {
	var ve *valueError
	if !errors.As(err, &ve) {
		return err
	}
	switch {
	case ve.path == "":
		ve.path = elem
	case strings.HasPrefix(ve.path, "["):
		ve.path = elem + ve.path
	default:
		ve.path = elem + "." + ve.path
	}
	return ve
}

// scalarValue converts a scalar by its resolved YAML tag.
func scalarValue(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, &valueError{line: n.Line, msg: err.Error()}
		}
		return b, nil
	case "!!int":
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, &valueError{line: n.Line, msg: err.Error()}
		}
		switch x := v.(type) {
		case int:
			return int64(x), nil
		case int64:
			return x, nil
		case uint64:
			return float64(x), nil // above MaxInt64: only a float can hold it
		case float64:
			return normalizeFloat(x, n)
		}
		return nil, &valueError{line: n.Line, msg: fmt.Sprintf("cannot read %q as a number", n.Value)}
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, &valueError{line: n.Line, msg: err.Error()}
		}
		return normalizeFloat(f, n)
	}
	// Strings, and anything else a scalar can be tagged (timestamps, binary,
	// custom tags): the text as written.
	return n.Value, nil
}

// maxExactInt is the largest magnitude below which every whole float64 is
// an exact integer.
const maxExactInt = 1 << 53

// normalizeFloat returns whole numbers as int64 so that they encode as 80,
// not 80.0, and refuses what JSON cannot carry.
func normalizeFloat(f float64, n *yaml.Node) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, &valueError{line: n.Line, msg: fmt.Sprintf("%s is not a finite number", n.Value)}
	}
	if f == math.Trunc(f) && math.Abs(f) <= maxExactInt {
		return int64(f), nil
	}
	return f, nil
}
