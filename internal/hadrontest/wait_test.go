package hadrontest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWaitEndsWhenCheckIsDoneOrFailsOrTimeRunsOut(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name    string
		check   func(calls int) (bool, string, error)
		wantErr string
		calls   int
	}{
		{"done on the third ask", func(n int) (bool, string, error) { return n == 3, "", nil }, "", 3},
		{"an error of check ends it at once", func(int) (bool, string, error) { return false, "", boom }, "boom", 1},
		{"the deadline names the last state", func(n int) (bool, string, error) { return false, "still going", nil }, "last state: still going", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			err := Wait(context.Background(), time.Millisecond, 50*time.Millisecond, "it", func() (bool, string, error) {
				calls++
				return tt.check(calls)
			})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Wait = %v, want error containing %q", err, tt.wantErr)
			}
			if tt.calls >= 0 && calls != tt.calls {
				t.Errorf("check asked %d times, want %d", calls, tt.calls)
			}
		})
	}
}

func TestTarGzKeepsModesUnderDotSlash(t *testing.T) {
	t.Parallel()
	data, err := TarGz("testdata/bundle")
	if err != nil {
		t.Fatal(err)
	}
	got := listTar(t, data)
	want := []string{"./infrastructure/ 0755", "./infrastructure/run.sh 0755", "./schema/ 0755", "./schema/schema.yaml 0644"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
