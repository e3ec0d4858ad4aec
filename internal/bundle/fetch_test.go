package bundle

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// bundleDir returns a bundle directory holding bucket/key files, a symlink
// escaping it and a directory outside it with a secret.
func bundleDir(t *testing.T) (dir, outside string) {
	t.Helper()
	base := t.TempDir()
	dir = filepath.Join(base, "bundles")
	outside = filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(dir, "bucket", "env"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "bucket", "env", "v1.tgz"), []byte("tarball"))
	write(filepath.Join(outside, "secret.tgz"), []byte("secret"))
	// A FIFO with no writer: opened plainly, it would block Read forever.
	if err := syscall.Mkfifo(filepath.Join(dir, "bucket", "fifo.tgz"), 0o644); err != nil {
		t.Fatal(err)
	}
	big, err := os.Create(filepath.Join(dir, "bucket", "big.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: the size is over the limit without writing megabytes.
	if err := big.Truncate(MaxBundleBytes + 1); err != nil {
		t.Fatal(err)
	}
	big.Close()
	if err := os.Symlink(outside, filepath.Join(dir, "bucket", "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "bucket", "env"), filepath.Join(dir, "bucket", "alias")); err != nil {
		t.Fatal(err)
	}
	return dir, outside
}

func TestReadReturnsTheBundle(t *testing.T) {
	t.Parallel()
	dir, _ := bundleDir(t)
	for _, key := range []string{"env/v1.tgz", "alias/v1.tgz", "./env/v1.tgz"} {
		t.Run(key, func(t *testing.T) {
			t.Parallel()
			p, err := Resolve(dir, "bucket", key)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
				t.Errorf("Resolve = %s, not under %s", p, dir)
			}
			b, err := Read(dir, "bucket", key)
			if err != nil || string(b) != "tarball" {
				t.Fatalf("Read = %q, %v", b, err)
			}
		})
	}
}

func TestReadRefusesWhatIsNotABundleInTheDirectory(t *testing.T) {
	t.Parallel()
	dir, _ := bundleDir(t)
	tests := []struct {
		name, bucket, key string
		want              string
	}{
		{"missing file", "bucket", "env/v2.tgz", "template bundle s3://bucket/env/v2.tgz not found: no file at " + filepath.Join(dir, "bucket", "env", "v2.tgz")},
		{"missing bucket", "nobucket", "x.tgz", "template bundle s3://nobucket/x.tgz not found: no file at " + filepath.Join(dir, "nobucket", "x.tgz")},
		{"dot-dot key", "bucket", "../../outside/secret.tgz", `refusing key "../../outside/secret.tgz": it must not contain ".." path elements`},
		{"dot-dot inside key", "bucket", "env/../../x", `it must not contain ".." path elements`},
		{"absolute key", "bucket", "/etc/passwd", `refusing key "/etc/passwd": it must be relative`},
		{"NUL in key", "bucket", "env/v1.tgz\x00.txt", "it contains a NUL byte"},
		{"dot-dot bucket", "..", "outside/secret.tgz", `refusing bucket name "..": it must be a single path element`},
		{"bucket with slash", "bucket/env", "v1.tgz", "it must be a single path element"},
		{"empty key", "bucket", "", "the key is empty"},
		{"symlink escaping", "bucket", "escape/secret.tgz", "outside the bundle directory"},
		{"directory", "bucket", "env", "is a directory, not a bundle file"},
		{"named pipe", "bucket", "fifo.tgz", "fifo.tgz is not a regular file (a named pipe), not a bundle file"},
		{"over the bundle limit", "bucket", "big.tgz", fmt.Sprintf("template bundle s3://bucket/big.tgz is %d bytes, over the 10 MB bundle limit", MaxBundleBytes+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := Read(dir, tt.bucket, tt.key)
			if b != nil {
				t.Errorf("Read returned %d bytes along with the error", len(b))
			}
			wantError(t, err, tt.want)
		})
	}
}

func TestReadNotFoundUnwrapsToErrNotExist(t *testing.T) {
	t.Parallel()
	dir, _ := bundleDir(t)
	_, err := Read(dir, "bucket", "nope.tgz")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}
}
