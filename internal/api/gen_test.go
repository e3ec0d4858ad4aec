package api

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// sharedModel is where the original botocore model lives in a full checkout;
// the project builds and tests without it.
const sharedModel = "../../../shared/proton-api/service-2.json"

// generate runs the generator on model into a new directory and returns it.
func generate(t *testing.T, model string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to run the generator: %v", err)
	}
	out := t.TempDir()
	cmd := exec.Command(goTool, "run", "./internal/gen", "-model", model, "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, msg)
	}
	return out
}

// sameFiles reports every generated file in dir that differs from the
// committed one.
func sameFiles(t *testing.T, dir, fix string) {
	t.Helper()
	for _, name := range []string{"model.json", "types_gen.go", "operations_gen.go"} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: %s", name, fix)
		}
	}
}

// The generator reads the committed model.json, so this runs in any checkout.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	t.Parallel()
	sameFiles(t, generate(t, "model.json"), "run go generate ./internal/api")
}

// Where the botocore model is at hand, the committed copy is its trim.
func TestCommittedModelIsTheBotocoreModelTrimmed(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(sharedModel); err != nil {
		t.Skipf("botocore model not found at %s (%v): nothing to compare model.json with", sharedModel, err)
	}
	sameFiles(t, generate(t, sharedModel), "run go run ./internal/gen -model "+sharedModel)
}

func TestEmbeddedModelHasNoDocumentation(t *testing.T) {
	t.Parallel()
	if bytes.Contains(modelJSON, []byte("documentation")) || bytes.Contains(modelJSON, []byte("<p>")) {
		t.Error("model.json holds documentation text; the generator must drop it")
	}
}
