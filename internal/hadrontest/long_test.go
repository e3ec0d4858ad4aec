package hadrontest

import "testing"

func TestLongSkipsUnlessFull(t *testing.T) {
	for _, tt := range []struct {
		env  string
		skip bool
	}{{"", true}, {"yes", true}, {"full", false}} {
		t.Setenv(LongEnv, tt.env)
		var skipped bool
		t.Run("HADRON_E2E="+tt.env, func(t *testing.T) {
			defer func() { skipped = t.Skipped() }()
			Long(t)
		})
		if skipped != tt.skip {
			t.Errorf("%s=%q: skipped = %t, want %t", LongEnv, tt.env, skipped, tt.skip)
		}
	}
}

func TestLongNamesThePackageToRun(t *testing.T) {
	if got := packageDir(); got != "./internal/hadrontest" {
		t.Errorf("packageDir() = %q, want ./internal/hadrontest", got)
	}
}
