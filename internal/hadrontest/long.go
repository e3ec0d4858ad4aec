package hadrontest

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Suite switches. `go test ./...` (the README's command) runs the fast tests
// of every layer; the long ones run when LongEnv is "full", as .ci/run sets
// it. RequireEnv=1 turns a skip for a missing tool or database into a
// failure (a Long skip is a choice, not a missing tool, and stays a skip).
const (
	LongEnv    = "HADRON_E2E"
	RequireEnv = "HADRON_E2E_REQUIRE"
)

// Full reports whether the long tests run (HADRON_E2E=full).
func Full() bool { return os.Getenv(LongEnv) == "full" }

// Long marks t as a long test: it runs with HADRON_E2E=full and is skipped
// otherwise, with a message naming the command that runs it, so that
// `go test -v` shows what the fast run left out.
func Long(t testing.TB) {
	t.Helper()
	if Full() {
		return
	}
	t.Skipf("long test, run by .ci/run: %s=full go test -run '^%s$' %s", LongEnv, t.Name(), packageDir())
}

// packageDir is the test's package as a go test argument (./test/e2e): go
// test runs a package's tests in its directory.
var packageDir = sync.OnceValue(func() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	root, err := ModuleRoot()
	if err != nil {
		return wd
	}
	rel, err := filepath.Rel(root, wd)
	if err != nil {
		return wd
	}
	return "./" + filepath.ToSlash(rel)
})
