package proton

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hadronhq/hadron/internal/api"
)

// apiTime converts a stored time; the zero time stays zero (omitted on the wire).
func apiTime(t time.Time) api.Time {
	return api.Time{Time: t}
}

// optional returns nil for "", so that an absent member changes nothing.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func lower(s string) string { return strings.ToLower(s) }

// stringValues renders spec inputs as output values: strings as they are,
// anything else as its JSON text.
func stringValues(inputs map[string]any) map[string]string {
	out := make(map[string]string, len(inputs))
	for k, v := range inputs {
		switch v := v.(type) {
		case string:
			out[k] = v
		default:
			raw, err := json.Marshal(v)
			if err != nil {
				raw = []byte(fmt.Sprint(v))
			}
			out[k] = string(raw)
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptr[T any](v T) *T { return &v }
