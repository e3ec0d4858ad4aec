package bundle

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// validate checks v against t and returns it with defaults applied to the
// objects it holds. path names v in errors ("" for a schema default, which
// the caller words itself). Every violation is added to vs, so that one call
// reports all of a spec's mistakes; a value reports its first violation only
// (a string of the wrong type has no length to check).
func (t *Type) validate(v any, path string, vs *violations) any {
	fail := func(format string, args ...any) any {
		vs.add(&SpecError{Input: path, Message: fmt.Sprintf(format, args...)})
		return nil
	}
	if msg := t.checkKind(v); msg != "" {
		return fail("%s", msg)
	}
	if len(t.Enum) > 0 && !slices.ContainsFunc(t.Enum, func(e any) bool { return equalValues(e, v) }) {
		opts := make([]string, len(t.Enum))
		for i, e := range t.Enum {
			opts[i] = valueText(e)
		}
		return fail("must be one of %s, not %s", strings.Join(opts, ", "), valueText(v))
	}
	switch t.Type {
	case TypeString:
		s := v.(string)
		n := int64(utf8.RuneCountInString(s))
		if t.MinLength != nil && n < *t.MinLength {
			return fail("must be at least %d characters long, not %d", *t.MinLength, n)
		}
		if t.MaxLength != nil && n > *t.MaxLength {
			return fail("must be at most %d characters long, not %d", *t.MaxLength, n)
		}
		if t.pattern != nil && !t.pattern.MatchString(s) {
			return fail("must match pattern %s, and %s does not", t.Pattern, valueText(v))
		}
	case TypeNumber, TypeInteger:
		f, _ := toFloat(v)
		if t.Minimum != nil {
			if t.ExclusiveMinimum && f <= *t.Minimum {
				return fail("must be greater than %s, not %s", numText(*t.Minimum), valueText(v))
			}
			if f < *t.Minimum {
				return fail("must be at least %s, not %s", numText(*t.Minimum), valueText(v))
			}
		}
		if t.Maximum != nil {
			if t.ExclusiveMaximum && f >= *t.Maximum {
				return fail("must be less than %s, not %s", numText(*t.Maximum), valueText(v))
			}
			if f > *t.Maximum {
				return fail("must be at most %s, not %s", numText(*t.Maximum), valueText(v))
			}
		}
	case TypeArray:
		items := v.([]any)
		n := int64(len(items))
		// A list of the wrong length still has its items checked.
		if t.MinItems != nil && n < *t.MinItems {
			fail("must have at least %d items, not %d", *t.MinItems, n)
		}
		if t.MaxItems != nil && n > *t.MaxItems {
			fail("must have at most %d items, not %d", *t.MaxItems, n)
		}
		out := make([]any, len(items))
		for i, item := range items {
			if t.Items == nil {
				out[i] = item
				continue
			}
			out[i] = t.Items.validate(item, fmt.Sprintf("%s[%d]", path, i), vs)
		}
		return out
	case TypeObject:
		return t.validateObject(v.(map[string]any), path, vs)
	}
	return v
}

// validateObject checks the properties of an object value: required ones
// present, defaults applied to absent (or null) ones, and the others as
// additionalProperties says (kept as given unless the schema says false or
// gives their type).
func (t *Type) validateObject(m map[string]any, path string, vs *violations) map[string]any {
	var unknown []string
	for k := range m {
		if _, ok := t.Properties[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	if len(unknown) > 0 && t.ClosedProperties {
		known := slices.Sorted(maps.Keys(t.Properties))
		what, their := "an input of this template", "its inputs are"
		if path != "" {
			what, their = "a property of '"+path+"'", "its properties are"
		}
		if len(unknown) == 1 {
			vs.add(&SpecError{Input: joinPath(path, unknown[0]), Message: fmt.Sprintf("is not %s, whose schema sets additionalProperties: false (%s: %s)", what, their, listOrNone(known))})
		} else {
			vs.add(&SpecError{Input: path, Message: fmt.Sprintf("unknown inputs '%s': none is %s, whose schema sets additionalProperties: false (%s: %s)", strings.Join(unknown, "', '"), what, their, listOrNone(known))})
		}
		unknown = nil // reported; the known properties are still checked
	}
	out := make(map[string]any, len(t.Properties)+len(unknown))
	for _, name := range unknown {
		v := m[name]
		if t.AdditionalProperties != nil && v != nil {
			v = t.AdditionalProperties.validate(v, joinPath(path, name), vs)
		}
		out[name] = v
	}
	for _, name := range slices.Sorted(maps.Keys(t.Properties)) {
		p := t.Properties[name]
		v, set := m[name]
		if !set || v == nil {
			switch {
			case p.HasDefault:
				out[name] = copyValue(p.Default)
			case slices.Contains(t.Required, name):
				vs.add(&SpecError{Input: joinPath(path, name), Message: "is required, and the spec does not set it"})
			}
			continue
		}
		out[name] = p.validate(v, joinPath(path, name), vs)
	}
	return out
}

// checkKind returns "" when v has t's type, else what is wrong.
func (t *Type) checkKind(v any) string {
	ok := false
	switch t.Type {
	case TypeString:
		_, ok = v.(string)
	case TypeNumber:
		_, ok = toFloat(v)
	case TypeInteger:
		// Whole numbers are always int64 (see normalizeFloat), so a float64
		// has a fraction or is too large to be exact.
		_, ok = v.(int64)
	case TypeBoolean:
		_, ok = v.(bool)
	case TypeArray:
		_, ok = v.([]any)
	case TypeObject:
		_, ok = v.(map[string]any)
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("must be %s, not %s%s", typeWant[t.Type], describe(v), quoteHint(t, v))
}

// typeWant is how messages ask for a value of a schema type.
var typeWant = map[string]string{
	TypeString:  "a string",
	TypeNumber:  "a number",
	TypeInteger: "a whole number",
	TypeBoolean: "true or false",
	TypeArray:   "a list",
	TypeObject:  "a mapping",
}

// quoteHint suggests quoting when YAML read a would-be string as another
// scalar (version: 1.20 is a number, "1.20" a string).
func quoteHint(t *Type, v any) string {
	if t.Type != TypeString {
		return ""
	}
	switch v.(type) {
	case int64, float64, bool:
		return fmt.Sprintf(" (quote it, \"%v\", to pass a string)", v)
	}
	return ""
}

// describe names a value and its kind for messages: `the number 80`.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "the string " + strconv.Quote(x)
	case bool:
		return fmt.Sprintf("the boolean %t", x)
	case int64, float64:
		return "the number " + valueText(x)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%v", v)
}

// valueText renders a value for messages: strings quoted, numbers as
// written in JSON.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return numText(x)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%v", v)
}

func numText(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// toFloat returns a number value as float64.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// equalValues compares values in the package's Go types, numbers by value.
func equalValues(a, b any) bool {
	fa, aNum := toFloat(a)
	fb, bNum := toFloat(b)
	if aNum || bNum {
		return aNum && bNum && fa == fb
	}
	return reflect.DeepEqual(a, b)
}

// copyValue deep-copies a value so that callers may modify the inputs they
// get without changing the schema's defaults.
func copyValue(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = copyValue(e)
		}
		return out
	}
	return v
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
