package proton

import (
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

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptr[T any](v T) *T { return &v }
