package jinja

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the corpus's expected.out files from the Go renderer")

// corpusCase is one directory under testdata/cases: a template
// (cloudformation.yaml), its Proton inputs document (vars.json), and either
// the expected output (expected.out) or the expected error (error.txt).
type corpusCase struct {
	name     string
	dir      string
	template []byte
	vars     map[string]any
	wantErr  string // empty when the case must render
}

func loadCorpus(t *testing.T) []corpusCase {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("testdata", "cases", "*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(dirs)
	var cases []corpusCase
	for _, dir := range dirs {
		c := corpusCase{name: filepath.Base(dir), dir: dir}
		if c.template, err = os.ReadFile(filepath.Join(dir, "cloudformation.yaml")); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join(dir, "vars.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &c.vars); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "error.txt")); err == nil {
			c.wantErr = strings.TrimSpace(string(b))
		}
		cases = append(cases, c)
	}
	if len(cases) < 30 {
		t.Fatalf("corpus has %d cases, want at least 30", len(cases))
	}
	return cases
}

// TestCorpusRendersGolden pins every corpus case without Python: the
// output equals expected.out, or the error equals error.txt.
func TestCorpusRendersGolden(t *testing.T) {
	t.Parallel()
	for _, c := range loadCorpus(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := Render("cloudformation.yaml", c.template, c.vars)
			if c.wantErr != "" {
				if err == nil {
					t.Fatalf("rendered %q, want error %q", got, c.wantErr)
				}
				if err.Error() != c.wantErr {
					t.Fatalf("error %q, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			golden := filepath.Join(c.dir, "expected.out")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run with -update after checking the output against Jinja2): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("output differs from %s\n--- got ---\n%s\n--- want ---\n%s", golden, got, want)
			}
		})
	}
}

// TestCorpusMatchesJinja2 renders every corpus case with Python's Jinja2
// (testdata/reference.py, which also holds hand-written reference versions
// of Proton's filters) and requires the Go output to be byte-identical,
// and a case that fails in one to fail in the other.
//
// The only normalisation is of the input: Python reads the inputs document
// as Go's encoding/json re-encodes it, so mappings have their keys sorted
// (Go maps have no order; Jinja2 iterates a dict in its JSON order) and a
// whole number is written without a fraction.
func TestCorpusMatchesJinja2(t *testing.T) {
	t.Parallel()
	python := findJinja2(t)
	cases := loadCorpus(t)

	type pyCase struct {
		Name     string         `json:"name"`
		Template string         `json:"template"`
		Vars     map[string]any `json:"vars"`
	}
	var req struct {
		Cases []pyCase `json:"cases"`
	}
	for _, c := range cases {
		req.Cases = append(req.Cases, pyCase{Name: c.name, Template: string(c.template), Vars: c.vars})
	}
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, filepath.Join("testdata", "reference.py"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference.py: %v\n%s", err, stderr.String())
	}
	var resp struct {
		Results map[string]struct {
			OK     bool   `json:"ok"`
			Output string `json:"output"`
			Error  string `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("decode reference.py output: %v", err)
	}

	mismatches := 0
	for _, c := range cases {
		py, ok := resp.Results[c.name]
		if !ok {
			t.Fatalf("reference.py gave no result for %s", c.name)
		}
		got, err := Render("cloudformation.yaml", c.template, c.vars)
		switch {
		case !py.OK && err != nil:
			t.Logf("%s: both fail (Jinja2: %s; Go: %v)", c.name, py.Error, err)
		case !py.OK:
			mismatches++
			t.Errorf("%s: Jinja2 fails with %s, Go renders %q", c.name, py.Error, got)
		case err != nil:
			mismatches++
			t.Errorf("%s: Go fails with %v, Jinja2 renders %q", c.name, err, py.Output)
		case string(got) != py.Output:
			mismatches++
			t.Errorf("%s: outputs differ\n--- Go ---\n%s\n--- Jinja2 ---\n%s", c.name, got, py.Output)
		}
		if (c.wantErr != "") != !py.OK {
			t.Errorf("%s: error.txt says fail=%v, Jinja2 fail=%v", c.name, c.wantErr != "", !py.OK)
		}
	}
	t.Logf("differential test against Jinja2: %d cases, %d mismatches", len(cases), mismatches)
}

// findJinja2 returns a python3 that can import jinja2, or skips the test
// (fails it when HADRON_E2E_REQUIRE=1).
func findJinja2(t *testing.T) string {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("HADRON_E2E_REQUIRE") == "1" {
			t.Fatalf("HADRON_E2E_REQUIRE=1 and %s", why)
		}
		t.Skip(why)
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		missing("python3 is not on PATH")
		return ""
	}
	if out, err := exec.Command(python, "-c", "import jinja2").CombinedOutput(); err != nil {
		missing("python3 cannot import jinja2: " + strings.TrimSpace(string(out)))
	}
	return python
}
