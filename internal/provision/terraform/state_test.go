package terraform

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hadronhq/hadron/internal/provision"
)

// Every resource has its own state file, named as its ARN names it; a name
// that could leave the state directory is refused.
func TestStatePathIsOnePerResource(t *testing.T) {
	for _, c := range []struct {
		t    provision.Target
		want string
	}{
		{provision.Target{Kind: provision.KindEnvironment, Name: "dev"}, "environment/dev.tfstate"},
		{provision.Target{Kind: provision.KindServiceInstance, Name: "front", ServiceName: "web"}, "service/web/service-instance/front.tfstate"},
		{provision.Target{Kind: provision.KindServicePipeline, Name: "pipeline", ServiceName: "web"}, "service/web/pipeline.tfstate"},
		{provision.Target{Kind: provision.KindComponent, Name: "cache"}, "component/cache.tfstate"},
		{provision.Target{Kind: provision.KindEnvironment, Name: "../x"}, ""},
		{provision.Target{Kind: provision.KindServiceInstance, Name: "front"}, ""},
		{provision.Target{Kind: "BUCKET", Name: "b"}, ""},
	} {
		got, err := StatePath("/state", c.t)
		switch {
		case c.want == "" && err == nil:
			t.Errorf("StatePath(%+v) = %s, want an error", c.t, got)
		case c.want != "" && (err != nil || got != filepath.Join("/state", c.want)):
			t.Errorf("StatePath(%+v) = %s, %v; want /state/%s", c.t, got, err, c.want)
		}
	}
}

// saveState replaces the kept state with the working directory's, leaves
// it when terraform wrote none, and leaves no temporary file behind.
func TestSaveStateReplacesTheKeptStateOnlyWithANewOne(t *testing.T) {
	root, work := t.TempDir(), t.TempDir()
	path := filepath.Join(root, "service", "web", "service-instance", "front.tfstate")
	if saved, err := saveState(work, root, path); saved || err != nil {
		t.Fatalf("saveState without a state = %v, %v; want nothing saved", saved, err)
	}
	for _, v := range []string{`{"serial":1}`, `{"serial":2}`} {
		if err := os.WriteFile(filepath.Join(work, stateFile), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		if saved, err := saveState(work, root, path); !saved || err != nil {
			t.Fatalf("saveState = %v, %v", saved, err)
		}
		if b, _ := readState(path); string(b) != v {
			t.Errorf("kept state = %q, want %q", b, v)
		}
	}
	for _, torn := range []string{"", `{"version": 4, "resou`} {
		os.WriteFile(filepath.Join(work, stateFile), []byte(torn), 0o600)
		if saved, err := saveState(work, root, path); saved || err != errTornState {
			t.Errorf("saveState of %q = %v, %v; want errTornState", torn, saved, err)
		}
		if b, _ := readState(path); string(b) != `{"serial":2}` {
			t.Errorf("a torn state replaced the kept one: %q", b)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("state directory holds %d files, want the state only", len(entries))
	}
	if err := removeState(path); err != nil {
		t.Fatal(err)
	}
	if b, err := readState(path); b != nil || err != nil {
		t.Errorf("after removeState: %q, %v", b, err)
	}
}
