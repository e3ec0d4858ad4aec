package terraform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hadronhq/hadron/internal/provision"
)

// stateFile is the local state's name in the working directory: the
// local backend's default, so that terraform reads and writes it without
// options.
const stateFile = "terraform.tfstate"

// StatePath returns where the local state of target is kept under the
// state directory dir: one file per resource, in folders named as the
// resource's ARN names it (names cannot hold a slash, so no two resources
// share a file).
func StatePath(dir string, t provision.Target) (string, error) {
	for _, n := range []string{t.Name, t.ServiceName} {
		if strings.ContainsAny(n, `/\`) || n == "." || n == ".." {
			return "", fmt.Errorf("resource name %q cannot name a state file", n)
		}
	}
	var rel string
	switch t.Kind {
	case provision.KindEnvironment:
		rel = filepath.Join("environment", t.Name)
	case provision.KindServiceInstance:
		rel = filepath.Join("service", t.ServiceName, "service-instance", t.Name)
	case provision.KindServicePipeline:
		rel = filepath.Join("service", t.ServiceName, "pipeline")
	case provision.KindComponent:
		rel = filepath.Join("component", t.Name)
	default:
		return "", fmt.Errorf("no state file for a resource of kind %q", t.Kind)
	}
	if t.Name == "" || (t.Kind != provision.KindEnvironment && t.Kind != provision.KindComponent && t.ServiceName == "") {
		return "", fmt.Errorf("resource of kind %s is not named: no state file", t.Kind)
	}
	return filepath.Join(dir, rel+".tfstate"), nil
}

// errTornState is saveState's answer for a state file terraform left empty
// or unreadable; the kept state is not replaced.
var errTornState = errors.New("the state terraform left in the working directory is empty or unreadable (terraform was stopped while writing it)")

// readState returns the kept state at path, nil when there is none.
func readState(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read terraform state: %w", err)
	}
	return b, nil
}

// saveState keeps the state terraform left in workDir at path, durably:
// written to a temporary file beside it, synced, renamed over the old one,
// and the directory synced, so that a crash leaves the old state or the
// new one, never a part. The directories from root down to the file are
// synced too, so that a resource's first state is not lost with a
// directory entry. No state file in workDir (terraform never wrote one)
// keeps the old state.
func saveState(workDir, root, path string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(workDir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read terraform state from the working directory: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 || !json.Valid(b) {
		// Terraform was stopped while writing it: the state from before
		// the run is worth more than a torn one.
		return false, errTornState
	}
	if err := writeDurably(root, path, b); err != nil {
		return false, fmt.Errorf("keep terraform state: %w", err)
	}
	return true, nil
}

func writeDurably(root, path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// The directories MkdirAll may have created, from root down.
	for d := dir; d != root && strings.HasPrefix(d, root+string(filepath.Separator)); d = filepath.Dir(d) {
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// removeState forgets the state of a destroyed resource, durably.
func removeState(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove terraform state: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

var (
	// backendBlock finds a backend "<type>" { or cloud { block: where a
	// configuration keeps its state itself. Only the root module's files
	// count: a backend anywhere else is ignored by terraform.
	backendBlock = regexp.MustCompile(`(?m)(^|[\s{])(backend\s+"[^"]*"|cloud)\s*\{`)
	// lineComment is a # or // comment to the end of the line.
	lineComment = regexp.MustCompile(`(?m)(#|//).*$`)
	// blockComment is a /* */ comment.
	blockComment = regexp.MustCompile(`(?s)/\*.*?\*/`)
)

// HasBackend reports whether the template's own .tf files (the root
// module, files directly in the bundle directory) declare where terraform
// keeps the state: a backend or cloud block. The check is textual, after
// removing comments; a backend is only valid inside a terraform block,
// so no other block has one.
func HasBackend(files map[string][]byte) bool {
	for name, data := range files {
		if strings.Contains(name, "/") || !strings.HasSuffix(name, ".tf") {
			continue
		}
		text := blockComment.ReplaceAll(data, nil)
		text = lineComment.ReplaceAll(text, nil)
		if backendBlock.Match(text) {
			return true
		}
	}
	return false
}
