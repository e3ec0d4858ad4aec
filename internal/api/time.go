package api

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Time is a timestamp as AWS JSON 1.0 sends it: a JSON number of seconds since
// the epoch, with a fraction for milliseconds (1700000000.123, or 1700000000
// for a whole second). The zero Time (IsZero, promoted from time.Time) is
// omitted from output by the generated `omitzero` tags.
type Time struct {
	time.Time
}

// MarshalJSON writes the time as epoch seconds, to millisecond precision.
func (t Time) MarshalJSON() ([]byte, error) {
	// A float64 holds any millisecond count of this era exactly enough for the
	// shortest round-trip formatting to print at most three decimals.
	return strconv.AppendFloat(nil, float64(t.UnixMilli())/1e3, 'f', -1, 64), nil
}

// UnmarshalJSON reads epoch seconds from a JSON number; null leaves t unchanged.
func (t *Time) UnmarshalJSON(data []byte) error {
	s := string(bytes.TrimSpace(data))
	if s == "null" {
		return nil
	}
	parsed, err := parseEpoch(s)
	if err != nil {
		return fmt.Errorf("timestamp %.40q: %w", s, err)
	}
	t.Time = parsed
	return nil
}

// parseEpoch parses decimal seconds exactly, so that 0.123 is 123ms and not
// 122.999ms as it would be through a float; exponents fall back to a float.
func parseEpoch(s string) (time.Time, error) {
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
			return time.Time{}, fmt.Errorf("not a number of seconds")
		}
		sec := math.Floor(f)
		return time.Unix(int64(sec), int64(math.Round((f-sec)*1e6))*1e3).UTC(), nil
	}
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || whole == "" || strings.HasPrefix(whole, "+") {
		return time.Time{}, fmt.Errorf("not a number of seconds")
	}
	var nsec int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		if nsec, err = strconv.ParseInt(frac, 10, 64); err != nil || nsec < 0 {
			return time.Time{}, fmt.Errorf("not a number of seconds")
		}
	}
	if neg {
		sec, nsec = -sec, -nsec
	}
	return time.Unix(sec, nsec).UTC(), nil
}
