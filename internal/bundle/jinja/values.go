package jinja

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// normalizeVars copies the inputs document into the shapes the engine
// renders as Jinja2 would render Python's json.loads of the same document:
// a whole number is an int (80, not 80.0), and everything under
// service_instance.components is lenient (see componentDict).
func normalizeVars(vars map[string]any) map[string]any {
	out := make(map[string]any, len(vars)+2)
	for k, v := range vars {
		out[k] = normalize(v)
	}
	if si, ok := out["service_instance"].(map[string]any); ok {
		// Proton rendered a missing component as empty rather than failing
		// the instance, so the whole components subtree never fails a
		// lookup.
		comps, _ := si["components"].(map[string]any)
		si["components"] = lenientTree(comps)
	}
	return out
}

func normalize(v any) any {
	switch v := v.(type) {
	case nil:
		return pyNone
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = normalize(e)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = normalize(e)
		}
		return l
	case float64:
		return wholeToInt(v)
	case float32:
		return wholeToInt(float64(v))
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		if f, err := v.Float64(); err == nil {
			return wholeToInt(f)
		}
		return v.String()
	case int:
		return int64(v)
	case int32:
		return int64(v)
	case string, bool, int64, noneValue:
		return v
	default:
		// Any other Go value (a struct, a map[string]string) is taken as
		// encoding/json would write it.
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprintf("%v", v)
		}
		var decoded any
		if err := json.Unmarshal(b, &decoded); err != nil {
			return fmt.Sprintf("%v", v)
		}
		return normalize(decoded)
	}
}

// wholeToInt turns a float64 holding a whole number into an int64: JSON has
// one number type, encoding/json decodes it as float64, and Python decodes
// "80" as the int 80.
func wholeToInt(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return f
}

// componentDict is a mapping under service_instance.components. Looking up
// a key it lacks gives missing, never an error.
type componentDict map[string]any

func lenientTree(m map[string]any) componentDict {
	out := make(componentDict, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			out[k] = lenientTree(sub)
		} else {
			out[k] = v
		}
	}
	return out
}

// GetAttribute implements exec.AttributeGetter.
func (d componentDict) GetAttribute(name string) (*exec.Value, bool) {
	return d.GetItem(name)
}

// GetItem implements exec.ItemGetter.
func (d componentDict) GetItem(key any) (*exec.Value, bool) {
	if k, ok := key.(string); ok {
		if v, ok := d[k]; ok {
			return exec.AsValue(v), true
		}
	}
	return exec.AsValue(missing{}), true
}

// missing is Jinja2's ChainableUndefined: an undefined value that renders
// as "", is false, iterates as empty, is not "defined", takes a filter's
// default, and whose every attribute is missing again.
type missing map[string]any

func (missing) String() string { return "" }

// GetAttribute implements exec.AttributeGetter.
func (m missing) GetAttribute(string) (*exec.Value, bool) { return exec.AsValue(m), true }

// GetItem implements exec.ItemGetter.
func (m missing) GetItem(any) (*exec.Value, bool) { return exec.AsValue(m), true }

// isUndefined reports whether a value is undefined: a strict lookup's error,
// nothing, or a missing component value.
func isUndefined(v *exec.Value) bool {
	if v.IsError() || v.IsNil() {
		return true
	}
	_, ok := v.Interface().(missing)
	return ok
}
