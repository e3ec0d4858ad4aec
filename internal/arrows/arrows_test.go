package arrows

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/hadronhq/hadron"

// pkg is the part of `go list -json` the rules read.
type pkg struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

// graph maps every package of the module to the module packages it imports.
type graph map[string][]string

// rule forbids the packages from matching to reach the packages forbidden
// matches, directly or through other packages of the module.
type rule struct {
	name      string
	from      func(p string) bool
	forbidden func(p string) bool
	// direct limits the rule to the packages' own imports: a package
	// the rule forbids may still be reached through another.
	direct bool
}

// under reports whether p is dir or a package below it (dir is relative to
// the module).
func under(dir string) func(string) bool {
	full := module + "/" + dir
	return func(p string) bool { return p == full || strings.HasPrefix(p, full+"/") }
}

func below(dir string) func(string) bool {
	full := module + "/" + dir + "/"
	return func(p string) bool { return strings.HasPrefix(p, full) }
}

func anyOf(fs ...func(string) bool) func(string) bool {
	return func(p string) bool { return slices.ContainsFunc(fs, func(f func(string) bool) bool { return f(p) }) }
}

func not(f func(string) bool) func(string) bool { return func(p string) bool { return !f(p) } }

var (
	storeBackend  = anyOf(under("internal/store/sqlite"), under("internal/store/postgres"), under("internal/store/sqlstore"))
	enginePackage = below("internal/provision") // internal/provision itself is the contract, not an engine
	concrete      = anyOf(storeBackend, enginePackage)
)

var rules = []rule{
	{
		name:      "proton knows stores and engines only through their interfaces",
		from:      under("internal/proton"),
		forbidden: concrete,
	},
	{
		name:      "the deployment engine knows provisioning engines only through the registry",
		from:      under("internal/engine"),
		forbidden: enginePackage,
	},
	{
		name: "fakes of remote services are for tests only",
		// A fake answers as the real service does, so nothing may mistake
		// it for the service: only tests (outside the graph) import it.
		from:      not(under("internal/forge/github/githubfake")),
		forbidden: under("internal/forge/github/githubfake"),
	},
	{
		name:      "git remotes and forges are reached by the engines that hand work off, and wired by cmd/",
		from:      not(anyOf(under("cmd"), enginePackage, under("internal/gitrepo"), under("internal/forge"))),
		forbidden: anyOf(under("internal/gitrepo"), under("internal/forge")),
	},
	{
		name: "only cmd/ wires concrete store backends and provisioning engines",
		// The backends and engines may use their own parts (sqlite and
		// postgres share sqlstore); tests are not in the graph.
		from:      not(anyOf(under("cmd"), concrete)),
		forbidden: concrete,
	},
	{
		name: "the standalone supervisor links only the supervisor and the sandbox",
		// It starts for every provisioning command: every package it links
		// adds its init to each dispatch (package codebuild's supervisor.go).
		from:      under("cmd/hadron-supervisor"),
		forbidden: not(anyOf(under("cmd/hadron-supervisor"), under("internal/provision/supervisor"), under("internal/provision/sandbox"))),
	},
	{
		name: "the web console reads and acts through proton's operations, never the store or the engine itself",
		// proton uses the store, so only the console's own imports count.
		from:      under("internal/console"),
		forbidden: anyOf(under("internal/store"), under("internal/engine")),
		direct:    true,
	},
}

// violations returns, for every package a rule applies to, the first chain of
// imports that reaches a forbidden package, as "a -> b -> c".
func (g graph) violations(r rule) []string {
	var out []string
	for _, p := range sortedKeys(g) {
		if !r.from(p) {
			continue
		}
		if r.direct {
			for _, imp := range g[p] {
				if r.forbidden(imp) {
					out = append(out, strings.TrimPrefix(p, module+"/")+" -> "+strings.TrimPrefix(imp, module+"/"))
				}
			}
			continue
		}
		if chain := g.path(p, r.forbidden); chain != nil {
			out = append(out, strings.Join(chain, " -> "))
		}
	}
	return out
}

// path finds a shortest import chain from p to a package matching target.
func (g graph) path(p string, target func(string) bool) []string {
	prev := map[string]string{p: ""}
	queue := []string{p}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, next := range g[cur] {
			if _, seen := prev[next]; seen {
				continue
			}
			prev[next] = cur
			if target(next) {
				var chain []string
				for n := next; n != ""; n = prev[n] {
					chain = append(chain, strings.TrimPrefix(n, module+"/"))
				}
				slices.Reverse(chain)
				return chain
			}
			queue = append(queue, next)
		}
	}
	return nil
}

func sortedKeys(g graph) []string {
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// moduleGraph lists the module's packages and their dependencies with go list.
func moduleGraph(t *testing.T) graph {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the arrows are read with go list: %v", err)
	}
	cmd := exec.Command(goTool, "list", "-deps", "-json", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	g := graph{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		if p.Standard || !strings.HasPrefix(p.ImportPath, module+"/") {
			continue
		}
		var imports []string
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module+"/") {
				imports = append(imports, imp)
			}
		}
		g[p.ImportPath] = imports
	}
	return g
}

func TestPackagesImportOnlyAlongTheArrows(t *testing.T) {
	t.Parallel()
	g := moduleGraph(t)
	if len(g[module+"/cmd/hadron"]) == 0 {
		t.Fatalf("go list found no imports of cmd/hadron: the graph is not the module's (%d packages)", len(g))
	}
	for _, r := range rules {
		for _, v := range g.violations(r) {
			t.Errorf("%s; import %s breaks it", r.name, v)
		}
	}
}

// The rules on a made-up graph: each forbidden reach is caught, through
// another package too, and the allowed ones are not.
func TestRulesCatchForbiddenImports(t *testing.T) {
	t.Parallel()
	m := func(p string) string { return module + "/" + p }
	g := graph{
		m("cmd/hadron"):                   {m("internal/server"), m("internal/store/sqlite"), m("internal/provision/codebuild")},
		m("internal/server"):              {m("internal/proton"), m("internal/engine")},
		m("internal/proton"):              {m("internal/store"), m("internal/provision"), m("internal/bundle")},
		m("internal/bundle"):              {m("internal/store/postgres")},
		m("internal/engine"):              {m("internal/provision"), m("internal/provision/codebuild")},
		m("internal/provision"):           nil,
		m("internal/provision/codebuild"): {m("internal/provision")},
		m("internal/store"):               nil,
		m("internal/store/sqlite"):        {m("internal/store/sqlstore"), m("internal/store")},
		m("internal/store/sqlstore"):      {m("internal/store")},
		m("internal/store/postgres"):      {m("internal/store/sqlstore")},
		m("internal/console"):             {m("internal/proton"), m("internal/store")},
	}
	var got []string
	for _, r := range rules {
		for _, v := range g.violations(r) {
			got = append(got, fmt.Sprintf("%s: %s", r.name[:12], v))
		}
	}
	want := []string{
		"proton knows: internal/proton -> internal/bundle -> internal/store/postgres",
		"the deployme: internal/engine -> internal/provision/codebuild",
		"only cmd/ wi: internal/bundle -> internal/store/postgres",
		"only cmd/ wi: internal/console -> internal/proton -> internal/bundle -> internal/store/postgres",
		"only cmd/ wi: internal/engine -> internal/provision/codebuild",
		"only cmd/ wi: internal/proton -> internal/bundle -> internal/store/postgres",
		"only cmd/ wi: internal/server -> internal/engine -> internal/provision/codebuild",
		"the web cons: internal/console -> internal/store",
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
