package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixture returns the files of testdata/name keyed by slash path.
func fixture(t testing.TB, name string) map[string][]byte {
	t.Helper()
	root := filepath.Join("testdata", name)
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatalf("read fixture %s: %v", name, err)
	}
	return files
}

// with returns a copy of files with changes applied; the value deleteFile
// removes the file.
func with(files map[string][]byte, changes map[string]string) map[string][]byte {
	out := maps.Clone(files)
	for k, v := range changes {
		if v == deleteFile {
			delete(out, k)
			continue
		}
		out[k] = []byte(v)
	}
	return out
}

// deleteFile, as a value given to with, removes the file.
const deleteFile = "\x00delete"

// entry is one tar entry for makeTar.
type entry struct {
	name string
	typ  byte
	body string
	link string
}

// makeTar builds a tarball (gzipped when gz) of entries, in order.
func makeTar(t testing.TB, gz bool, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	var zw *gzip.Writer
	tw := tar.NewWriter(&buf)
	if gz {
		zw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(zw)
	}
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Linkname: e.link, Mode: 0o644}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		switch typ {
		case tar.TypeDir:
			hdr.Mode = 0o755
		case tar.TypeXGlobalHeader:
			hdr = &tar.Header{Typeflag: typ, PAXRecords: map[string]string{"comment": "global"}}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("tar header %s: %v", e.name, err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatalf("tar write %s: %v", e.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// tarFiles builds a gzipped tarball of files, each name prefixed with
// prefix (such as "./"), with directory entries as `tar -C dir .` writes.
func tarFiles(t testing.TB, prefix string, files map[string][]byte) []byte {
	t.Helper()
	var entries []entry
	if prefix != "" {
		entries = append(entries, entry{name: prefix, typ: tar.TypeDir})
	}
	dirs := map[string]bool{}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		for i := strings.Index(p, "/"); i >= 0; i = nextSlash(p, i) {
			if d := p[:i+1]; !dirs[d] {
				dirs[d] = true
				entries = append(entries, entry{name: prefix + d, typ: tar.TypeDir})
			}
		}
		entries = append(entries, entry{name: prefix + p, body: string(files[p])})
	}
	return makeTar(t, true, entries...)
}

func nextSlash(s string, i int) int {
	j := strings.Index(s[i+1:], "/")
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// unpackFiles unpacks a tarball of files or fails the test.
func unpackFiles(t testing.TB, files map[string][]byte) *Files {
	t.Helper()
	f, err := Unpack(tarFiles(t, "./", files))
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	return f
}

// wantError checks that err is an *Error whose message contains want.
func wantError(t testing.TB, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", want)
	}
	if _, ok := err.(*Error); !ok {
		t.Errorf("error is %T, want *Error: %v", err, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q\ndoes not contain %q", err.Error(), want)
	}
}
