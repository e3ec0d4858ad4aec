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

func TestGeneratedFilesAreUpToDate(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(sharedModel); err != nil {
		t.Skipf("botocore model not found at %s (%v): cannot check the generated files", sharedModel, err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to run the generator: %v", err)
	}
	out := t.TempDir()
	cmd := exec.Command(goTool, "run", "./internal/gen", "-model", sharedModel, "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, msg)
	}
	for _, name := range []string{"model.json", "types_gen.go", "operations_gen.go"} {
		want, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./internal/api", name)
		}
	}
}

func TestEmbeddedModelHasNoDocumentation(t *testing.T) {
	t.Parallel()
	if bytes.Contains(modelJSON, []byte("documentation")) || bytes.Contains(modelJSON, []byte("<p>")) {
		t.Error("model.json holds documentation text; the generator must drop it")
	}
}
