package bundle

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// schemaPath is where every template bundle keeps its schema.
const schemaPath = "schema/schema.yaml"

// Schema is a template's schema/schema.yaml: the OpenAPI 3.0 types of the
// inputs its specs may set.
type Schema struct {
	// Raw is the text of schema.yaml, which the API returns as a template
	// version's schema.
	Raw string
	// EnvironmentInputType names the type of an environment's inputs
	// (environment templates).
	EnvironmentInputType string
	// ServiceInputType names the type of a service instance's inputs, and
	// PipelineInputType the optional type of the service pipeline's inputs
	// (service templates).
	ServiceInputType  string
	PipelineInputType string
	// Types holds the types the schema declares, by name.
	Types map[string]*Type
}

// Type is the subset of an OpenAPI 3.0 schema object that Proton schemas
// use. A nil bound means no bound; Title and Description are kept for
// display and have no effect on validation.
type Type struct {
	Type               string // TypeString, TypeNumber, TypeInteger, TypeBoolean, TypeArray or TypeObject
	Title, Description string

	Properties map[string]*Type // object
	Required   []string         // object
	// Object values may hold properties Properties does not name, as
	// OpenAPI allows unless additionalProperties says otherwise:
	// ClosedProperties is additionalProperties: false, which refuses them;
	// AdditionalProperties is additionalProperties given as a schema, which
	// they must match. Otherwise they are kept as given.
	ClosedProperties     bool
	AdditionalProperties *Type

	Default    any  // a value in the package's Go types
	HasDefault bool // whether Default was given (it may be nil)
	Enum       []any

	Pattern              string // string; RE2 syntax, matched anywhere in the value
	MinLength, MaxLength *int64 // string, in characters

	Minimum, Maximum                   *float64 // number, integer
	ExclusiveMinimum, ExclusiveMaximum bool     // OpenAPI 3.0 booleans modifying Minimum/Maximum

	Items              *Type  // array; nil allows any items
	MinItems, MaxItems *int64 // array

	pattern *regexp.Regexp
}

// The types a property may have.
const (
	TypeString  = "string"
	TypeNumber  = "number"
	TypeInteger = "integer"
	TypeBoolean = "boolean"
	TypeArray   = "array"
	TypeObject  = "object"
)

var knownTypes = []string{TypeString, TypeNumber, TypeInteger, TypeBoolean, TypeArray, TypeObject}

// unsupportedKeywords are OpenAPI keywords Hadron does not implement;
// ignoring them would accept specs the author meant to refuse.
var unsupportedKeywords = []string{"$ref", "allOf", "anyOf", "oneOf", "not"}

// parseSchema parses schema/schema.yaml and checks every type it declares.
// Which input types must be named depends on the kind of template and is
// checked by the callers.
func parseSchema(f *Files) (*Schema, error) {
	data, ok := f.Get(schemaPath)
	if !ok {
		return nil, errorf("%s not found in the bundle%s", schemaPath, topLevelHint(f))
	}
	doc, err := parseYAML(schemaPath, data)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, errorf("%s is empty: it must hold a top-level 'schema' mapping", schemaPath)
	}
	top, err := mapping(schemaPath, doc, "the file")
	if err != nil {
		return nil, err
	}
	var body *yaml.Node
	for _, kv := range top {
		if kv.key == "schema" {
			body = kv.value
		}
	}
	if body == nil {
		return nil, nodeError(schemaPath, doc, "the top-level 'schema' key is missing")
	}
	entries, err := mapping(schemaPath, body, "schema")
	if err != nil {
		return nil, err
	}
	s := &Schema{Raw: string(data), Types: map[string]*Type{}}
	var format, types *yaml.Node
	for _, kv := range entries {
		switch kv.key {
		case "format":
			format = kv.value
		case "types":
			types = kv.value
		case "environment_input_type", "service_input_type", "pipeline_input_type":
			name, err := scalarString(schemaPath, kv.value, "schema."+kv.key)
			if err != nil {
				return nil, err
			}
			switch kv.key {
			case "environment_input_type":
				s.EnvironmentInputType = name
			case "service_input_type":
				s.ServiceInputType = name
			default:
				s.PipelineInputType = name
			}
		}
	}
	if format == nil {
		return nil, nodeError(schemaPath, body, "schema.format is missing: it must be {openapi: \"3.0.0\"}")
	}
	if err := checkFormat(format); err != nil {
		return nil, err
	}
	if types == nil {
		return nil, nodeError(schemaPath, body, "schema.types is missing")
	}
	typeEntries, err := mapping(schemaPath, types, "schema.types")
	if err != nil {
		return nil, err
	}
	sp := &schemaParser{conv: newConverter()}
	for _, kv := range typeEntries {
		t, err := sp.parseType(kv.value, "schema.types."+kv.key, 0)
		if err != nil {
			return nil, err
		}
		s.Types[kv.key] = t
	}
	return s, nil
}

// checkFormat requires schema.format.openapi to be 3.0.x.
func checkFormat(n *yaml.Node) error {
	entries, err := mapping(schemaPath, n, "schema.format")
	if err != nil {
		return err
	}
	for _, kv := range entries {
		if kv.key != "openapi" {
			continue
		}
		v, err := scalarString(schemaPath, kv.value, "schema.format.openapi")
		if err != nil {
			return err
		}
		if v != "3.0" && !strings.HasPrefix(v, "3.0.") {
			return nodeError(schemaPath, kv.value, "schema.format.openapi is %q: Proton schemas are OpenAPI \"3.0.0\"", v)
		}
		return nil
	}
	return nodeError(schemaPath, n, "schema.format.openapi is missing: it must be \"3.0.0\"")
}

// inputType returns the object type named by the schema key key (such as
// environment_input_type) with value name.
func (s *Schema) inputType(key, name string) (*Type, error) {
	t, ok := s.Types[name]
	if !ok {
		declared := slices.Sorted(maps.Keys(s.Types))
		return nil, errorf("%s: schema.%s names type %q, which schema.types does not declare (it declares: %s)", schemaPath, key, name, listOrNone(declared))
	}
	if t.Type != TypeObject {
		return nil, errorf("%s: schema.types.%s, the %s, must be of type object, not %s", schemaPath, name, key, t.Type)
	}
	return t, nil
}

// schemaParser parses the types of one schema within one budget, so that
// aliases (which may even refer to an enclosing type) cannot make parsing
// loop or take exponential time.
type schemaParser struct {
	conv *converter
}

// parseType parses one schema object at where (a dotted path for messages).
// depth is 0 for the entries of schema.types, whose type defaults to object.
func (sp *schemaParser) parseType(n *yaml.Node, where string, depth int) (*Type, error) {
	sp.conv.budget--
	if sp.conv.budget < 0 || depth > maxValueDepth {
		return nil, nodeError(schemaPath, n, "%s: %v", where, errTooComplex)
	}
	top := depth == 0
	entries, err := mapping(schemaPath, n, where)
	if err != nil {
		return nil, err
	}
	t := &Type{}
	var defaultN, enumN, requiredN, propsN *yaml.Node
	for _, kv := range entries {
		if slices.Contains(unsupportedKeywords, kv.key) {
			return nil, nodeError(schemaPath, kv.keyN, "%s: %s is not supported: declare the type in full", where, kv.key)
		}
		var err error
		switch kv.key {
		case "type":
			t.Type, err = scalarString(schemaPath, kv.value, where+".type")
			if err == nil && !slices.Contains(knownTypes, t.Type) {
				err = nodeError(schemaPath, kv.value, "%s: unknown type %q (the types are %s)", where, t.Type, strings.Join(knownTypes, ", "))
			}
		case "title":
			t.Title, err = scalarString(schemaPath, kv.value, where+".title")
		case "description":
			t.Description, err = scalarString(schemaPath, kv.value, where+".description")
		case "properties":
			propsN = kv.value
		case "required":
			requiredN = kv.value
		case "default":
			defaultN = kv.value
		case "enum":
			enumN = kv.value
		case "pattern":
			t.Pattern, err = scalarString(schemaPath, kv.value, where+".pattern")
			if err == nil {
				t.pattern, err = regexp.Compile(t.Pattern)
				if err != nil {
					err = nodeError(schemaPath, kv.value, "%s: pattern %q does not compile (Hadron uses RE2 syntax): %v", where, t.Pattern, unwrapRegexpError(err))
				}
			}
		case "minLength":
			t.MinLength, err = sp.nonNegative(kv.value, where+".minLength")
		case "maxLength":
			t.MaxLength, err = sp.nonNegative(kv.value, where+".maxLength")
		case "minItems":
			t.MinItems, err = sp.nonNegative(kv.value, where+".minItems")
		case "maxItems":
			t.MaxItems, err = sp.nonNegative(kv.value, where+".maxItems")
		case "minimum":
			t.Minimum, err = sp.number(kv.value, where+".minimum")
		case "maximum":
			t.Maximum, err = sp.number(kv.value, where+".maximum")
		case "exclusiveMinimum":
			t.ExclusiveMinimum, err = sp.boolean(kv.value, where+".exclusiveMinimum")
		case "exclusiveMaximum":
			t.ExclusiveMaximum, err = sp.boolean(kv.value, where+".exclusiveMaximum")
		case "items":
			t.Items, err = sp.parseType(kv.value, where+".items", depth+1)
		case "additionalProperties":
			if v := deref(kv.value); v.Kind == yaml.MappingNode {
				t.AdditionalProperties, err = sp.parseType(v, where+".additionalProperties", depth+1)
			} else {
				var open bool
				open, err = sp.boolean(v, where+".additionalProperties")
				t.ClosedProperties = !open
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if t.Type == "" {
		if !top && propsN == nil {
			return nil, nodeError(schemaPath, n, "%s has no type (the types are %s)", where, strings.Join(knownTypes, ", "))
		}
		t.Type = TypeObject
	}
	if propsN != nil {
		if t.Type != TypeObject {
			return nil, nodeError(schemaPath, propsN, "%s: properties are allowed only on type object, not %s", where, t.Type)
		}
		props, err := mapping(schemaPath, propsN, where+".properties")
		if err != nil {
			return nil, err
		}
		t.Properties = make(map[string]*Type, len(props))
		for _, kv := range props {
			p, err := sp.parseType(kv.value, where+".properties."+kv.key, depth+1)
			if err != nil {
				return nil, err
			}
			t.Properties[kv.key] = p
		}
	}
	if requiredN != nil {
		req, err := stringList(schemaPath, requiredN, where+".required")
		if err != nil {
			return nil, err
		}
		for _, r := range req {
			if _, ok := t.Properties[r]; !ok {
				return nil, nodeError(schemaPath, requiredN, "%s.required lists %q, which is not one of its properties", where, r)
			}
		}
		t.Required = req
	}
	if enumN != nil {
		en := deref(enumN)
		if en.Kind != yaml.SequenceNode || len(en.Content) == 0 {
			return nil, nodeError(schemaPath, en, "%s.enum must be a non-empty list", where)
		}
		for i, e := range en.Content {
			v, err := sp.value(e, fmt.Sprintf("%s.enum[%d]", where, i))
			if err != nil {
				return nil, err
			}
			if err := t.checkKind(v); err != "" {
				return nil, nodeError(schemaPath, e, "%s.enum[%d] %s", where, i, err)
			}
			t.Enum = append(t.Enum, v)
		}
	}
	if defaultN != nil {
		v, err := sp.value(defaultN, where+".default")
		if err != nil {
			return nil, err
		}
		// Proton registered a default without checking it against its
		// type (`default: "public"` on a boolean, `default: ""` under
		// minLength: 12) and passed it on as written, so Hadron does too.
		// A valid default gets the defaults of its own properties.
		var vs violations
		out := t.validate(v, "", &vs)
		if vs.err() != nil {
			out = v
		}
		t.Default, t.HasDefault = out, true
	}
	return t, nil
}

// value converts a default or enum value within the schema's budget.
func (sp *schemaParser) value(n *yaml.Node, where string) (any, error) {
	v, err := sp.conv.value(n, 0)
	if err != nil {
		return nil, nodeError(schemaPath, n, "%s: %v", where, err)
	}
	return v, nil
}

func (sp *schemaParser) nonNegative(n *yaml.Node, where string) (*int64, error) {
	v, err := sp.value(n, where)
	if err != nil {
		return nil, err
	}
	i, ok := v.(int64)
	if !ok || i < 0 {
		return nil, nodeError(schemaPath, n, "%s must be a whole number, at least 0, not %s", where, kindName(n))
	}
	return &i, nil
}

func (sp *schemaParser) number(n *yaml.Node, where string) (*float64, error) {
	v, err := sp.value(n, where)
	if err != nil {
		return nil, err
	}
	f, ok := toFloat(v)
	if !ok {
		return nil, nodeError(schemaPath, n, "%s must be a number, not %s", where, kindName(n))
	}
	return &f, nil
}

func (sp *schemaParser) boolean(n *yaml.Node, where string) (bool, error) {
	v, err := sp.value(n, where)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, nodeError(schemaPath, n, "%s must be true or false, not %s", where, kindName(n))
	}
	return b, nil
}

// unwrapRegexpError keeps the reason of a *syntax.Error; the caller names
// the pattern.
func unwrapRegexpError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": `"); i >= 0 {
		return strings.TrimPrefix(msg[:i], "error parsing regexp: ")
	}
	return strings.TrimPrefix(msg, "error parsing regexp: ")
}

// topLevelHint lists a bundle's top level, to help when schema/ is missing
// because the tarball was made one directory too high or too low.
func topLevelHint(f *Files) string {
	seen := map[string]bool{}
	var tops []string
	for _, p := range f.Paths() {
		first, _, isDir := strings.Cut(p, "/")
		if isDir {
			first += "/"
		}
		if !seen[first] {
			seen[first] = true
			tops = append(tops, first)
		}
	}
	if len(tops) > 10 {
		tops = append(tops[:10], "…")
	}
	return fmt.Sprintf(" (its top level holds: %s)", strings.Join(tops, ", "))
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
