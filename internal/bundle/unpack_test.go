package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestUnpackAcceptsCommonTarballShapes(t *testing.T) {
	t.Parallel()
	files := fixture(t, "env-codebuild")
	nested := map[string][]byte{}
	for p, b := range files {
		nested["network-env/"+p] = b
	}
	tests := []struct {
		name string
		tgz  []byte
	}{
		{"made with tar -C dir . (leading ./)", tarFiles(t, "./", files)},
		{"plain relative names", tarFiles(t, "", files)},
		{"one top-level directory holding schema/", tarFiles(t, "", nested)},
		{"top-level directory with ./ prefix", tarFiles(t, "./", nested)},
		{"uncompressed tar", makeTar(t, false, entry{name: "schema/schema.yaml", body: string(files["schema/schema.yaml"])},
			entry{name: "infrastructure/manifest.yaml", body: string(files["infrastructure/manifest.yaml"])},
			entry{name: "infrastructure/deploy.sh", body: string(files["infrastructure/deploy.sh"])},
			entry{name: "infrastructure/config.yml", body: string(files["infrastructure/config.yml"])})},
		{"pax global header is skipped", makeTar(t, true, entry{name: "pax_global_header", typ: tar.TypeXGlobalHeader},
			entry{name: "schema/schema.yaml", body: string(files["schema/schema.yaml"])},
			entry{name: "infrastructure/manifest.yaml", body: string(files["infrastructure/manifest.yaml"])},
			entry{name: "infrastructure/deploy.sh", body: string(files["infrastructure/deploy.sh"])},
			entry{name: "infrastructure/config.yml", body: string(files["infrastructure/config.yml"])})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := Unpack(tt.tgz)
			if err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			want := []string{"infrastructure/config.yml", "infrastructure/deploy.sh", "infrastructure/manifest.yaml", "schema/schema.yaml"}
			if got := f.Paths(); !slices.Equal(got, want) {
				t.Errorf("Paths() = %v, want %v", got, want)
			}
			if b, _ := f.Get("schema/schema.yaml"); !bytes.Equal(b, files["schema/schema.yaml"]) {
				t.Errorf("schema/schema.yaml differs from the fixture")
			}
			if !f.HasDir("infrastructure") || f.HasDir("network-env") {
				t.Errorf("HasDir: infrastructure=%v network-env=%v, want true, false", f.HasDir("infrastructure"), f.HasDir("network-env"))
			}
			dir := f.Dir("infrastructure")
			if len(dir) != 3 || dir["manifest.yaml"] == nil {
				t.Errorf("Dir(infrastructure) has %d files (manifest: %v), want 3 with manifest.yaml", len(dir), dir["manifest.yaml"] != nil)
			}
		})
	}
}

func TestUnpackKeepsTopLevelDirectoryWithoutSchema(t *testing.T) {
	t.Parallel()
	// Only a directory that holds schema/ is a wrapper; a bundle whose files
	// all sit under schema/ (customer-managed) keeps its paths.
	f, err := Unpack(makeTar(t, true, entry{name: "schema/schema.yaml", body: "schema: {}\n"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Paths(); !slices.Equal(got, []string{"schema/schema.yaml"}) {
		t.Errorf("Paths() = %v", got)
	}
}

func TestUnpackRefusesUnsafeOrOversizedBundles(t *testing.T) {
	t.Parallel()
	ok := entry{name: "schema/schema.yaml", body: "schema: {}\n"}
	many := []entry{ok}
	for i := range MaxEntries {
		many = append(many, entry{name: fmt.Sprintf("infrastructure/f%04d.sh", i), body: "x"})
	}
	manyDirs := []entry{ok}
	for i := range MaxEntries + 1 {
		manyDirs = append(manyDirs, entry{name: fmt.Sprintf("d%04d/", i), typ: tar.TypeDir})
	}
	// A tar bomb: files each under the per-file limit that together expand
	// past MaxUnpackedBytes, compressing to almost nothing.
	bomb := []entry{ok}
	big := strings.Repeat("0", MaxFileBytes)
	for i := range MaxUnpackedBytes/MaxFileBytes + 1 {
		bomb = append(bomb, entry{name: fmt.Sprintf("infrastructure/zeros%03d", i), body: big})
	}
	bombTgz := makeTar(t, true, bomb...)
	if len(bombTgz) > MaxBundleBytes {
		t.Fatalf("bomb fixture is %d bytes compressed, must fit the bundle limit", len(bombTgz))
	}

	tests := []struct {
		name string
		tgz  []byte
		want string
	}{
		{"empty input", nil, "the template bundle is empty"},
		{"not a tarball", []byte("this is not a tarball, just some text that is long enough to fill a header block " + strings.Repeat("x", 600)), "not a valid (gzipped) tarball"},
		{"corrupt gzip", append([]byte{0x1f, 0x8b}, bytes.Repeat([]byte{0xff}, 40)...), "not a valid gzipped tarball"},
		{"no files", makeTar(t, true, entry{name: "schema/", typ: tar.TypeDir}), "holds no files"},
		{"path traversal", makeTar(t, true, ok, entry{name: "../x", body: "boom"}), `bundle entry "../x" has a ".." path element`},
		{"traversal inside a path", makeTar(t, true, ok, entry{name: "infrastructure/../../etc/passwd", body: "boom"}), `"infrastructure/../../etc/passwd" has a ".." path element`},
		{"absolute path", makeTar(t, true, ok, entry{name: "/etc/cron.d/x", body: "boom"}), `bundle entry "/etc/cron.d/x" has an absolute path`},
		{"symlink", makeTar(t, true, ok, entry{name: "infrastructure/passwd", typ: tar.TypeSymlink, link: "/etc/passwd"}), `bundle entry "infrastructure/passwd" is a symbolic link (to "/etc/passwd")`},
		{"hard link", makeTar(t, true, ok, entry{name: "infrastructure/h", typ: tar.TypeLink, link: "schema/schema.yaml"}), `bundle entry "infrastructure/h" is a hard link`},
		{"character device", makeTar(t, true, ok, entry{name: "infrastructure/null", typ: tar.TypeChar}), `bundle entry "infrastructure/null" is a device`},
		{"fifo", makeTar(t, true, ok, entry{name: "infrastructure/pipe", typ: tar.TypeFifo}), `"infrastructure/pipe" is a named pipe`},
		{"duplicate entry", makeTar(t, true, ok, ok), `bundle entry "schema/schema.yaml" appears more than once`},
		{"file and directory at one path", makeTar(t, true, ok, entry{name: "infrastructure", body: "x"}, entry{name: "infrastructure/a", body: "y"}), `"infrastructure" is both a file and a directory`},
		{"too many files", makeTar(t, true, many...), fmt.Sprintf("more than %d entries", MaxEntries)},
		{"too many directories", makeTar(t, true, manyDirs...), fmt.Sprintf("more than %d entries", MaxEntries)},
		{"tar bomb", bombTgz, fmt.Sprintf("expands to more than %s", sizeText(MaxUnpackedBytes))},
		{"file over the file limit", makeTar(t, true, ok, entry{name: "infrastructure/big.json", body: strings.Repeat("a", MaxFileBytes+1)}),
			fmt.Sprintf("bundle file infrastructure/big.json is %d bytes, over Proton's 2 MB limit", MaxFileBytes+1)},
		{"schema over the schema limit", makeTar(t, true, entry{name: "schema/schema.yaml", body: "#" + strings.Repeat("a", MaxSchemaBytes)}),
			fmt.Sprintf("bundle file schema/schema.yaml is %d bytes, over Proton's 2 MB limit", MaxSchemaBytes+1)},
		{"manifest over the manifest limit under a top directory", makeTar(t, true, entry{name: "t/schema/schema.yaml", body: "schema: {}"},
			entry{name: "t/infrastructure/manifest.yaml", body: "#" + strings.Repeat("a", MaxManifestBytes)}),
			fmt.Sprintf("manifest.yaml is %d bytes, over Proton's 2 MB limit", MaxManifestBytes+1)},
		{"bundle over the bundle limit", append([]byte{0x1f, 0x8b}, make([]byte, MaxBundleBytes)...), "over the 10 MB bundle limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := Unpack(tt.tgz)
			if f != nil {
				t.Errorf("Unpack returned files along with the error")
			}
			wantError(t, err, tt.want)
		})
	}
}

func TestUnpackStopsGzipBombEarly(t *testing.T) {
	t.Parallel()
	// One entry claiming a huge size: the header alone must refuse it, and
	// the stream limit must stop a stream that keeps going.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "schema/schema.yaml", Typeflag: tar.TypeReg, Size: 1 << 40, Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for range 30 { // 30 MB of zeros compress to ~30 KB
		tw.Write(chunk)
	}
	zw.Close()
	_, err := Unpack(buf.Bytes())
	wantError(t, err, "bundle file schema/schema.yaml is 1099511627776 bytes, over Proton's 2 MB limit")
}
