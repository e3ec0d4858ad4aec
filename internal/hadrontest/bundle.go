package hadrontest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// TarGz packs dir's files and directories as `tar -czf - -C dir .` would,
// keeping their modes.
func TarGz(dir string) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = "./" + filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err = errors.Join(err, tw.Close(), zw.Close()); err != nil {
		return nil, fmt.Errorf("pack bundle %s: %w", dir, err)
	}
	return buf.Bytes(), nil
}

// PutBundle packs the bundle directory src and writes it where a server
// with bundle directory bundleDir reads source s3 {bucket, key}.
func PutBundle(bundleDir, bucket, key, src string) error {
	tgz, err := TarGz(src)
	if err != nil {
		return err
	}
	path := filepath.Join(bundleDir, bucket, key)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, tgz, 0o644)
}
