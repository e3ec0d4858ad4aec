package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
)

// Files holds the regular files of an unpacked bundle in memory, keyed by
// clean slash-separated paths relative to the bundle root
// ("schema/schema.yaml", "infrastructure/manifest.yaml").
type Files struct {
	files map[string][]byte
	dirs  map[string]bool // every directory named by an entry or implied by a file path
}

// Get returns the contents of the file at path.
func (f *Files) Get(path string) ([]byte, bool) {
	b, ok := f.files[path]
	return b, ok
}

// Paths returns the paths of all files, sorted.
func (f *Files) Paths() []string {
	return slices.Sorted(maps.Keys(f.files))
}

// Len returns the number of files.
func (f *Files) Len() int { return len(f.files) }

// HasDir reports whether the bundle holds the directory dir, as an entry of
// its own or as the parent of a file.
func (f *Files) HasDir(dir string) bool { return f.dirs[dir] }

// Dir returns the files under dir, keyed relative to it
// (Dir("infrastructure") has "manifest.yaml"). The map is a new one but the
// contents are shared: callers must not modify them.
func (f *Files) Dir(dir string) map[string][]byte {
	prefix := strings.TrimSuffix(dir, "/") + "/"
	out := map[string][]byte{}
	for p, b := range f.files {
		if rel, ok := strings.CutPrefix(p, prefix); ok {
			out[rel] = b
		}
	}
	return out
}

// gzipMagic starts every gzip stream (RFC 1952).
var gzipMagic = []byte{0x1f, 0x8b}

// errUnpackedTooLarge stops reading a tar stream that expands past the limit.
var errUnpackedTooLarge = errors.New("bundle expands past the size limit")

// Unpack reads a bundle tarball, gzipped or not, entirely in memory; nothing
// is written to disk. It strips a leading "./" from entry names (bundles made
// with `tar -czf b.tgz -C dir .`) and, when every entry sits under one
// top-level directory that holds schema/, that directory too
// ("mytemplate/schema/schema.yaml" becomes "schema/schema.yaml").
//
// Unpack refuses, naming the entry: absolute paths and ".." elements, links,
// devices and other non-regular entries, an entry appearing twice, more than
// MaxEntries entries, more than MaxUnpackedBytes in all, and files over
// Proton's size limits (MaxManifestBytes, MaxSchemaBytes, MaxFileBytes).
func Unpack(tgz []byte) (*Files, error) {
	if len(tgz) == 0 {
		return nil, errorf("the template bundle is empty: expected a gzipped tarball")
	}
	if len(tgz) > MaxBundleBytes {
		return nil, errorf("the template bundle is %d bytes, over the %s bundle limit", len(tgz), sizeText(MaxBundleBytes))
	}
	var stream io.Reader = bytes.NewReader(tgz)
	if bytes.HasPrefix(tgz, gzipMagic) {
		zr, err := gzip.NewReader(stream)
		if err != nil {
			return nil, &Error{Message: fmt.Sprintf("the template bundle is not a valid gzipped tarball: %v", err), err: err}
		}
		defer zr.Close()
		stream = zr
	}
	// Bound the whole decompressed stream, headers included, so that neither
	// a gzip bomb nor a flood of header-only entries can run unchecked. The
	// slack covers tar headers (512 bytes each, more with long names).
	stream = &limitedReader{r: stream, n: MaxUnpackedBytes + MaxEntries*4096}

	f := &Files{files: map[string][]byte{}, dirs: map[string]bool{}}
	tr := tar.NewReader(stream)
	var entries int
	var total int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, tarError(err, entries)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // pax global header (git archive writes one): metadata only
		}
		entries++
		if entries > MaxEntries {
			return nil, errorf("the template bundle has more than %d entries", MaxEntries)
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return nil, err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if name != "" {
				f.dirs[name] = true
			}
			continue
		case tar.TypeReg:
		case tar.TypeSymlink:
			return nil, errorf("bundle entry %q is a symbolic link (to %q): a bundle may hold only regular files and directories", hdr.Name, hdr.Linkname)
		case tar.TypeLink:
			return nil, errorf("bundle entry %q is a hard link (to %q): a bundle may hold only regular files and directories", hdr.Name, hdr.Linkname)
		case tar.TypeChar, tar.TypeBlock:
			return nil, errorf("bundle entry %q is a device: a bundle may hold only regular files and directories", hdr.Name)
		case tar.TypeFifo:
			return nil, errorf("bundle entry %q is a named pipe: a bundle may hold only regular files and directories", hdr.Name)
		default:
			return nil, errorf("bundle entry %q has unsupported tar type %q: a bundle may hold only regular files and directories", hdr.Name, hdr.Typeflag)
		}
		if name == "" {
			return nil, errorf("bundle entry %q is a file without a name", hdr.Name)
		}
		if _, dup := f.files[name]; dup {
			return nil, errorf("bundle entry %q appears more than once", name)
		}
		// The final per-kind limits need the final path (the top-level
		// directory may still be stripped), so read at most the largest limit
		// here and check the smaller ones below.
		if hdr.Size > MaxFileBytes {
			return nil, fileTooLarge(name, hdr.Size, MaxFileBytes)
		}
		if total+hdr.Size > MaxUnpackedBytes {
			return nil, errorf("the template bundle expands to more than %s: refusing it", sizeText(MaxUnpackedBytes))
		}
		data, err := io.ReadAll(io.LimitReader(tr, MaxFileBytes+1))
		if err != nil {
			return nil, tarError(err, entries)
		}
		if len(data) > MaxFileBytes {
			return nil, fileTooLarge(name, int64(len(data)), MaxFileBytes)
		}
		total += int64(len(data))
		f.files[name] = data
	}
	if len(f.files) == 0 {
		return nil, errorf("the template bundle holds no files")
	}
	if err := f.settle(); err != nil {
		return nil, err
	}
	for _, p := range f.Paths() {
		if limit := fileLimit(p); int64(len(f.files[p])) > limit {
			return nil, fileTooLarge(p, int64(len(f.files[p])), limit)
		}
	}
	return f, nil
}

// settle strips a single top-level directory that holds the bundle, records
// the directories files imply, and refuses a path that is both a file and a
// directory.
func (f *Files) settle() error {
	if top, ok := f.commonTop(); ok && f.has(top+"/schema") {
		strip := func(p string) string { return strings.TrimPrefix(p, top+"/") }
		files := make(map[string][]byte, len(f.files))
		for p, b := range f.files {
			files[strip(p)] = b
		}
		dirs := map[string]bool{}
		for d := range f.dirs {
			if d != top {
				dirs[strip(d)] = true
			}
		}
		f.files, f.dirs = files, dirs
	}
	for p := range f.files {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			f.dirs[d] = true
		}
	}
	for _, p := range f.Paths() {
		if f.dirs[p] {
			return errorf("bundle entry %q is both a file and a directory", p)
		}
	}
	return nil
}

// commonTop returns the first path element when every file and directory
// lies under it.
func (f *Files) commonTop() (string, bool) {
	top := ""
	for p := range f.files {
		first, _, ok := strings.Cut(p, "/")
		if !ok || (top != "" && first != top) {
			return "", false
		}
		top = first
	}
	for d := range f.dirs {
		first, _, _ := strings.Cut(d, "/")
		if first != top {
			return "", false
		}
	}
	return top, top != ""
}

// has reports whether dir holds any file or is a directory entry.
func (f *Files) has(dir string) bool {
	if f.dirs[dir] {
		return true
	}
	for p := range f.files {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// entryName cleans a tar entry name into a relative slash path ("" for the
// root itself), refusing absolute names and ".." elements.
func entryName(name string) (string, error) {
	switch {
	case strings.ContainsRune(name, 0):
		return "", errorf("bundle entry %q has a NUL byte in its name", name)
	case strings.HasPrefix(name, "/"):
		return "", errorf("bundle entry %q has an absolute path: entries must be relative to the bundle root", name)
	}
	var elems []string
	for e := range strings.SplitSeq(name, "/") {
		switch e {
		case "", ".":
			continue
		case "..":
			return "", errorf("bundle entry %q has a \"..\" path element: entries must stay inside the bundle", name)
		}
		elems = append(elems, e)
	}
	return strings.Join(elems, "/"), nil
}

// fileLimit returns Proton's size limit for the file at p.
func fileLimit(p string) int64 {
	switch {
	case p == "schema/schema.yaml":
		return MaxSchemaBytes
	case path.Base(p) == "manifest.yaml" && isInfraDir(path.Dir(p)):
		return MaxManifestBytes
	}
	return MaxFileBytes
}

// isInfraDir reports whether dir is one of the bundle directories that hold
// a manifest.
func isInfraDir(dir string) bool {
	return dir == dirInfrastructure || dir == dirInstance || dir == dirPipeline
}

func fileTooLarge(name string, size, limit int64) *Error {
	return errorf("bundle file %s is %d bytes, over Proton's %s limit for this file", name, size, sizeText(limit))
}

// tarError words a failure to read the tar stream.
func tarError(err error, entries int) *Error {
	if errors.Is(err, errUnpackedTooLarge) {
		return &Error{Message: fmt.Sprintf("the template bundle expands to more than %s: refusing it", sizeText(MaxUnpackedBytes)), err: err}
	}
	if entries == 0 {
		return &Error{Message: fmt.Sprintf("the template bundle is not a valid (gzipped) tarball: %v", err), err: err}
	}
	return &Error{Message: fmt.Sprintf("the template bundle is a damaged tarball (after %d entries): %v", entries, err), err: err}
}

// limitedReader is io.LimitReader that fails loudly, so a truncated-looking
// stream can be told apart from one that was cut off by the limit.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errUnpackedTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
