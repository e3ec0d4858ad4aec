package bundle

import (
	"archive/tar"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzUnpack feeds arbitrary bytes to Unpack and the template parsers. It
// asserts that nothing panics, that every path Unpack returns is clean and
// inside the bundle, that the limits hold, and that nothing is written to
// the package directory (Unpack works in memory only).
func FuzzUnpack(f *testing.F) {
	for _, name := range []string{"env-codebuild", "env-cloudformation", "env-terraform", "env-customer-managed", "svc-pipeline"} {
		f.Add(tarFiles(f, "./", fixture(f, name)))
	}
	f.Add(makeTar(f, true, entry{name: "../x", body: "x"}))
	f.Add(makeTar(f, false, entry{name: "schema/schema.yaml", body: "schema: &a [*a]"}, entry{name: "a", typ: tar.TypeSymlink, link: "/etc"}))
	f.Add(makeTar(f, true, entry{name: "t/schema/schema.yaml", body: billionLaughs()}, entry{name: "t/infrastructure/manifest.yaml", body: "infrastructure: {templates: [{rendering_engine: codebuild, settings: {provision: [x]}}]}"}))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})

	before := snapshot(f, ".")
	f.Cleanup(func() {
		if after := snapshot(f, "."); !slices.Equal(before, after) {
			f.Errorf("the package directory changed while fuzzing:\nbefore %v\nafter  %v", before, after)
		}
	})

	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := Unpack(data)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Unpack error is %T, want *Error: %v", err, err)
			}
			return
		}
		var total int
		for _, p := range files.Paths() {
			if p == "" || path.Clean(p) != p || path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
				t.Fatalf("Unpack returned unsafe path %q", p)
			}
			b, _ := files.Get(p)
			if len(b) > MaxFileBytes {
				t.Fatalf("%s is %d bytes, over the limit", p, len(b))
			}
			total += len(b)
		}
		if total > MaxUnpackedBytes || files.Len() > MaxEntries {
			t.Fatalf("bundle of %d files, %d bytes passed the limits", files.Len(), total)
		}
		for _, cm := range []bool{false, true} {
			if tmpl, err := ParseEnvironmentTemplate(files, cm); err == nil {
				tmpl.Schema.EnvironmentInputs("proton: EnvironmentSpec\nspec: {}\n")
			} else if _, ok := err.(*Error); !ok {
				t.Fatalf("ParseEnvironmentTemplate error is %T, want *Error: %v", err, err)
			}
			if tmpl, err := ParseServiceTemplate(files, cm); err == nil {
				tmpl.Schema.ServiceSpec("proton: ServiceSpec\ninstances: [{name: a, environment: e}]\n")
			}
		}
	})
}

// snapshot lists the files under dir with their sizes.
func snapshot(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p == filepath.Join("testdata", "fuzz") {
			return fs.SkipDir // the fuzzer's own corpus of new failures
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, p+":"+info.Mode().String()+":"+strconv.FormatInt(info.Size(), 10))
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

// FuzzParse feeds arbitrary schema, manifest and spec text to the parsers
// and the spec validation, which FuzzUnpack seldom reaches through valid
// tarballs. Nothing may panic, and every error must be the package's type.
func FuzzParse(f *testing.F) {
	env := fixture(f, "env-codebuild")
	f.Add(string(env["schema/schema.yaml"]), string(env["infrastructure/manifest.yaml"]), "proton: EnvironmentSpec\nspec: {tier: dev}\n")
	tf := fixture(f, "env-terraform")
	f.Add(string(tf["schema/schema.yaml"]), string(tf["infrastructure/manifest.yaml"]), "proton: EnvironmentSpec\nspec: {tier: ${Proton::CURRENT_VAL}, tags: [a, *x]}\n")
	f.Add("schema: &s {format: {openapi: 3.0.0}, environment_input_type: T, types: {T: {properties: {a: {type: array, items: *s}}}}}", "infrastructure: {templates: [{rendering_engine: hcl, template_language: terraform, file: '*'}]}", billionLaughs())
	f.Fuzz(func(t *testing.T, schema, manifest, spec string) {
		files := &Files{files: map[string][]byte{
			"schema/schema.yaml":           []byte(schema),
			"infrastructure/manifest.yaml": []byte(manifest),
			"infrastructure/main.tf":       []byte("# tf\n"),
		}, dirs: map[string]bool{}}
		if err := files.settle(); err != nil {
			t.Fatal(err)
		}
		tmpl, err := ParseEnvironmentTemplate(files, false)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error is %T, want *Error: %v", err, err)
			}
			return
		}
		for _, current := range []map[string]any{nil, {"tier": "dev"}} {
			if _, err := tmpl.Schema.EnvironmentInputsWithCurrent(spec, current); err != nil {
				if _, ok := err.(*SpecError); !ok {
					t.Fatalf("spec error is %T, want *SpecError: %v", err, err)
				}
			}
		}
	})
}
