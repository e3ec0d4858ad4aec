package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Pack makes a gzipped tarball of files (keyed by slash-separated paths
// relative to the bundle root), as Unpack reads it. The same files give the
// same bytes: entries are sorted and carry no time or owner.
func Pack(files map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	var err error
	for _, name := range slices.Sorted(maps.Keys(files)) {
		data := files[name]
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if err = tw.WriteHeader(hdr); err != nil {
			break
		}
		if _, err = tw.Write(data); err != nil {
			break
		}
	}
	if err = errors.Join(err, tw.Close(), zw.Close()); err != nil {
		return nil, fmt.Errorf("pack bundle: %w", err)
	}
	return buf.Bytes(), nil
}
