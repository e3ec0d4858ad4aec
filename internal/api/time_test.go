package api

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimeTravelsAsEpochSecondsWithMilliseconds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		t    time.Time
		json string
	}{
		{"milliseconds", time.UnixMilli(1700000000123), "1700000000.123"},
		{"whole seconds", time.Unix(1700000000, 0), "1700000000"},
		{"trailing zeros dropped", time.UnixMilli(1700000000100), "1700000000.1"},
		{"below a millisecond truncated", time.Unix(1700000000, 999_999), "1700000000"},
		{"the epoch", time.Unix(0, 0), "0"},
		{"before the epoch", time.UnixMilli(-1500), "-1.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(Time{tt.t})
			if err != nil || string(got) != tt.json {
				t.Fatalf("Marshal = %s, %v; want %s", got, err, tt.json)
			}
			var back Time
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			if want := time.UnixMilli(tt.t.UnixMilli()); !back.Equal(want) {
				t.Errorf("round trip = %v, want %v", back.Time, want)
			}
		})
	}
}

func TestTimeReadsEveryNumberForm(t *testing.T) {
	t.Parallel()
	tests := map[string]time.Time{
		"1700000000":       time.Unix(1700000000, 0),
		"1700000000.123":   time.UnixMilli(1700000000123),
		"1700000000.1234":  time.Unix(1700000000, 123_400_000),
		"1.7000000001e9":   time.Unix(1700000000, 100_000_000),
		"-0.5":             time.Unix(0, -500_000_000),
		"1700000000.00000": time.Unix(1700000000, 0),
	}
	for in, want := range tests {
		var got Time
		if err := json.Unmarshal([]byte(in), &got); err != nil || !got.Equal(want) {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", in, got.Time, err, want)
		}
	}
	for _, bad := range []string{`"2023-11-14T22:13:20Z"`, `true`, `"1700000000"`} {
		var got Time
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", bad, got.Time)
		}
	}
	var kept = Time{time.Unix(5, 0)}
	if err := json.Unmarshal([]byte("null"), &kept); err != nil || !kept.Equal(time.Unix(5, 0)) {
		t.Errorf("null changed the time to %v (%v)", kept.Time, err)
	}
}
