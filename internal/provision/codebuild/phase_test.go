package codebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/bundle"
)

// bundleOf tars and unpacks the fixture bundle testdata/name, as a
// registration would receive it.
func bundleOf(t *testing.T, name string) *bundle.Files {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	root := filepath.Join("testdata", name)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	files, err := bundle.Unpack(buf.Bytes())
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	return files
}

// TestRunTerraformStyleManifest runs a manifest written the way Proton
// users wrote them: it cds into a subdirectory, exports a variable computed
// by a command, sources a script defining a function and a variable, writes
// a file with a heredoc, uses an env variable and a secret from the
// manifest, and writes proton-outputs.json; the bundle ships its own
// example proton-inputs.json.
func TestRunTerraformStyleManifest(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("the manifest uses jq, which this machine lacks")
	}
	tmpl, err := bundle.ParseEnvironmentTemplate(bundleOf(t, "terraform-style"), false)
	if err != nil {
		t.Fatalf("ParseEnvironmentTemplate: %v", err)
	}
	infra := tmpl.Infrastructure
	settings := infra.Manifest.Templates[0].Settings
	const token = "tok-7f3a9c-secret-value"
	secrets := map[string]string{}
	for name := range settings.Env.SecretsManager {
		secrets[name] = token // resolved by the caller
	}
	job, log := setup(t, settings.Provision...)
	job.Files = infra.Files
	job.Inputs = []byte(`{"environment": {"name": "dev", "inputs": {"public": "public"}}}`)
	job.Variables = settings.Env.Variables
	job.Secrets = secrets
	job.Image, job.Runtimes = settings.Image, settings.Runtimes
	var pids []int
	job.OnStart = func(pid int) { pids = append(pids, pid) }

	res, err := Run(context.Background(), job)
	if err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, log)
	}
	want := map[string]string{"EnvironmentName": "dev", "TerraformVersion": "1.5.0", "PlanLines": "2"}
	if !maps.Equal(res.Outputs, want) {
		t.Errorf("Outputs = %v, want %v\nlog:\n%s", res.Outputs, want, log)
	}
	if got := readFile(t, filepath.Join(job.Dir, "infra", "plan.txt")); got != "terraform 1.5.0\nplan for dev in infra\n" {
		t.Errorf("plan.txt = %q", got)
	}
	if got := readFile(t, filepath.Join(job.Dir, InputsFile)); got != string(job.Inputs) {
		t.Errorf("proton-inputs.json = %q, want the deployment's inputs", got)
	}
	if len(pids) != len(job.Commands) || len(slices.Compact(slices.Clone(pids))) != 1 {
		t.Errorf("OnStart pids = %v, want one shell's pid for each of %d commands", pids, len(job.Commands))
	}
	got := log.String()
	if strings.Contains(got, token) {
		t.Errorf("the log shows the secret:\n%s", got)
	}
	for _, want := range []string{
		"[hadron] the bundle's own proton-inputs.json is replaced by the deployment's inputs\n",
		`[hadron] the manifest's image "aws/codebuild/amazonlinux2-x86_64-standard:4.0" and runtimes nodejs 18 are not applied`,
		"[hadron] $ cd infra\n",
		"[hadron] $ cat > plan.txt <<EOF\nterraform ${TF_VERSION}\n$(describe_plan)\nEOF\n[hadron] command exited with status 0\n",
		"token is ***\n[hadron] command exited with status 0\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}

	// Its deprovision commands carry the cd over too.
	djob, dlog := setup(t, settings.Deprovision...)
	djob.Files, djob.Variables = infra.Files, settings.Env.Variables
	if _, err := Run(context.Background(), djob); err != nil {
		t.Fatalf("Run deprovision: %v\nlog:\n%s", err, dlog)
	}
	if !strings.Contains(dlog.String(), "\ndestroy 1.5.0\n") {
		t.Errorf("deprovision log:\n%s", dlog)
	}
}

func TestRunPhaseSemantics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		commands []string
		files    map[string][]byte
		wantErr  string // "" for success
		wantIdx  int    // CommandError.Index when wantErr is set
		wantLog  []string
		bashOnly bool
	}{
		{
			name:     "failing middle command",
			commands: []string{"export N=3", `test "$N" -eq 4`, "touch never-ran"},
			wantErr:  `command 2 of 3 "test \"$N\" -eq 4" exited with status 1`,
			wantIdx:  1,
			wantLog:  []string{"[hadron] $ test \"$N\" -eq 4\n[hadron] command exited with status 1\n"},
		},
		{
			name:     "a command's status is its last statement's, as on CodeBuild",
			commands: []string{"false; echo still here", "echo next"},
			wantLog:  []string{"still here\n[hadron] command exited with status 0\n", "next\n"},
		},
		{
			name:     "user's shell options are theirs: no set -e in sourced scripts",
			commands: []string{". ./lib.sh", `test "$AFTER_FALSE" = yes`, `case $- in *e*) exit 9;; esac`},
			files:    map[string][]byte{"lib.sh": []byte("false\nAFTER_FALSE=yes\n")},
		},
		{
			name:     "set -e of a command carries over",
			commands: []string{"set -e", "false; touch never-ran", "touch never-ran"},
			wantErr:  `command 2 of 3 "false; touch never-ran" exited with status 1`,
			wantIdx:  1,
		},
		{
			name:     "exit with a status fails the command",
			commands: []string{"cd /", "exit 4", "touch never-ran"},
			wantErr:  `command 2 of 3 "exit 4" exited with status 4`,
			wantIdx:  1,
		},
		{
			name:     "exit 0 in the last command ends the phase well",
			commands: []string{"echo one", "exit 0"},
		},
		{
			name:     "exit 0 before the last command fails the run",
			commands: []string{"echo one", "exit 0", "touch never-ran", "true"},
			wantErr:  `command 2 of 4 "exit 0" called exit 0, which ends the one shell a phase's commands run in (as on CodeBuild, cd, export and functions carry over from command to command), so commands 3 to 4 could not run: end the command without exit`,
			wantIdx:  1,
		},
		{
			name:     "syntax error",
			commands: []string{"echo one", "if then fi", "touch never-ran"},
			wantErr:  `command 2 of 3 "if then fi" exited with status 2`,
			wantIdx:  1,
		},
		{
			name:     "functions named like the script's builtins",
			commands: []string{"printf() { :; }; test() { return 1; }; eval() { return 1; }", "echo after"},
			wantLog:  []string{"[hadron] $ echo after\nafter\n[hadron] command exited with status 0\n"},
			bashOnly: true, // dash refuses a function named eval
		},
		{
			name:     "stdout redirected by a command",
			commands: []string{"exec > out.txt 2>&1", "echo hidden", `grep -q hidden out.txt`},
			wantLog:  []string{"[hadron] $ echo hidden\n[hadron] command exited with status 0\n"},
		},
		{
			name:     "background process survives to the next command",
			commands: []string{"sleep 30 & echo $! > bg.pid", `kill -0 "$(cat bg.pid)"`},
		},
		{
			name: "multi-line command with a heredoc and quotes",
			commands: []string{"X='it'\"'\"'s'\ncat <<'EOF' > h.txt\n$X stays literal\nEOF\necho \"$X\" >> h.txt\n", `test "$(cat h.txt)" = "\$X stays literal
it's"`},
		},
	}
	// The same semantics in /bin/sh, for hosts without bash: a PATH with
	// the few tools the cases use, and no bash.
	shBin := t.TempDir()
	for _, tool := range []string{"touch", "cat", "grep", "sleep"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, filepath.Join(shBin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	for _, sh := range []string{"bash", "sh"} {
		for _, tt := range tests {
			if sh == "sh" && tt.bashOnly {
				continue
			}
			t.Run(sh+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				job, log := setup(t, tt.commands...)
				job.Files = tt.files
				if sh == "sh" {
					job.Env = []string{"PATH=" + shBin}
				}
				runPhaseCase(t, job, log, sh, tt.wantErr, tt.wantIdx, tt.wantLog)
			})
		}
	}
}

// runPhaseCase runs one case of TestRunPhaseSemantics in shell sh.
func runPhaseCase(t *testing.T, job Job, log *logSink, sh, wantErr string, wantIdx int, wantLog []string) {
	t.Helper()
	_, err := Run(context.Background(), job)
	if want := "in one shell (/bin/sh)"; sh == "sh" && !strings.Contains(log.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, log)
	}
	if wantErr == "" {
		if err != nil {
			t.Fatalf("Run: %v\nlog:\n%s", err, log)
		}
	} else {
		var cerr *CommandError
		if !errors.As(err, &cerr) {
			t.Fatalf("Run error = %v, want a *CommandError\nlog:\n%s", err, log)
		}
		if !strings.HasPrefix(err.Error(), wantErr) || cerr.Index != wantIdx {
			t.Errorf("Run error = %q (index %d), want %q (index %d)\nlog:\n%s", err, cerr.Index, wantErr, wantIdx, log)
		}
	}
	if _, err := os.Stat(filepath.Join(job.Dir, "never-ran")); err == nil {
		t.Error("a command after the failure ran")
	}
	for _, want := range wantLog {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// TestRunCancelDuringSecondCommand cancels the second command of a phase
// whose first command changed the shell's directory.
func TestRunCancelDuringSecondCommand(t *testing.T) {
	t.Parallel()
	job, log := setup(t, "cd sub", `sleep 30 & echo $! > sleep.pid; echo "ready in $(basename "$PWD")"; wait`, "touch never-ran")
	job.Files = map[string][]byte{"sub/keep": nil}
	job.Grace = 5 * time.Second
	var pids []int
	job.OnStart = func(pid int) { pids = append(pids, pid) }
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	errc := runAsync(ctx, job)
	log.waitFor(t, "\nready in sub\n")
	start := time.Now()
	cancel(errUserCancel)
	err := await(t, errc)
	var cerr *CanceledError
	if !errors.As(err, &cerr) || !errors.Is(err, errUserCancel) {
		t.Fatalf("Run error = %v, want a *CanceledError with the cause\nlog:\n%s", err, log)
	}
	if cerr.Index != 1 || !cerr.Started || cerr.Killed {
		t.Errorf("CanceledError = %+v, want command 2 started, stopped by SIGTERM", cerr)
	}
	if elapsed := time.Since(start); elapsed > 4*time.Second {
		t.Errorf("cancel took %v; SIGTERM did not stop the sleep", elapsed)
	}
	if len(pids) != 2 || pids[0] != pids[1] {
		t.Errorf("OnStart pids = %v, want the same shell twice", pids)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(job.Dir, "sub", "sleep.pid"))))
	if err != nil {
		t.Fatal(err)
	}
	if processAlive(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the second command's sleep %d outlived the cancel", pid)
	}
	for _, p := range []string{"never-ran", "sub/never-ran"} {
		if _, err := os.Stat(filepath.Join(job.Dir, p)); err == nil {
			t.Error("the command after the cancel ran")
		}
	}
}

func TestRunMasksSecrets(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-very-secret"
	job, log := setup(t,
		`echo "password is $DB_PASSWORD"`,
		// One value in two writes, with a pause between them.
		`printf 'split: %s' "${DB_PASSWORD:0:8}"; sleep 0.2; printf '%s!\n' "${DB_PASSWORD:8}"`,
		`env | grep '^DB_PASSWORD='`,
		`printf '%s' "$DB_PASSWORD" > value.txt`,
		`echo "token $SESSION_TOKEN"`,
		`echo "failing with $DB_PASSWORD" >&2; exit 1`,
	)
	job.Env = []string{"SESSION_TOKEN=credential-from-env"}
	job.Mask = func() []string { return []string{"credential-from-env"} }
	job.Variables = map[string]string{"DB_PASSWORD": "plain variable loses to the secret"}
	job.Secrets = map[string]string{"DB_PASSWORD": secret, "EMPTY_SECRET": ""}
	_, err := Run(context.Background(), job)
	var cerr *CommandError
	if !errors.As(err, &cerr) || cerr.Index != 5 {
		t.Fatalf("Run error = %v, want the last command's failure\nlog:\n%s", err, log)
	}
	if got := readFile(t, filepath.Join(job.Dir, "value.txt")); got != secret {
		t.Errorf("the command saw DB_PASSWORD = %q, want the secret", got)
	}
	got := log.String()
	for _, leak := range []string{got, err.Error()} {
		if strings.Contains(leak, secret) || strings.Contains(leak, "hunter2-") || strings.Contains(leak, "credential-from-env") {
			t.Errorf("secret shown:\n%s", leak)
		}
	}
	for _, want := range []string{"password is ***\n", "split: ***!\n", "DB_PASSWORD=***\n", "token ***\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
	if cerr.Tail != "failing with ***" {
		t.Errorf("Tail = %q, want the secret masked", cerr.Tail)
	}
}

// TestRunMasksValuesAddedWhileItRuns pins that a value Job.Mask starts
// returning mid-run (credentials renewed by the credentials endpoint) is
// masked in the output that follows.
func TestRunMasksValuesAddedWhileItRuns(t *testing.T) {
	t.Parallel()
	const renewed = "renewed-secret-access-key"
	job, log := setup(t, `while [ ! -e renewed ]; do sleep 0.01; done; echo "key: $NEW_KEY"`)
	job.Env = []string{"NEW_KEY=" + renewed}
	var mu sync.Mutex
	values := []string{"first-credential"}
	job.Mask = func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(values)
	}
	job.OnStart = func(int) {
		mu.Lock()
		values = append(values, renewed)
		mu.Unlock()
		if err := os.WriteFile(filepath.Join(job.Dir, "renewed"), nil, 0o600); err != nil {
			t.Error(err)
		}
	}
	if _, err := Run(context.Background(), job); err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, log)
	}
	if got := log.String(); strings.Contains(got, renewed) || !strings.Contains(got, "key: ***\n") {
		t.Errorf("the value added mid-run is not masked:\n%s", got)
	}
}

func TestRunEnvPrecedence(t *testing.T) {
	t.Parallel()
	job, log := setup(t, `printf '%s %s %s %s' "$A" "$B" "$C" "$HADRON_TEST_SECRET" > env.txt`)
	job.Variables = map[string]string{"A": "var", "B": "var", "C": "var"}
	job.Secrets = map[string]string{"B": "sec", "C": "sec"}
	job.Env = []string{"C=env"}
	if _, err := Run(context.Background(), job); err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, log)
	}
	if got := readFile(t, filepath.Join(job.Dir, "env.txt")); got != "var sec env " {
		t.Errorf("A B C = %q, want Env over Secrets over Variables", got)
	}
}

func TestRunNotesRuntimesOnce(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "node"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	job, log := setup(t, "true", "true")
	job.Env = []string{"PATH=" + bin}
	job.Image = "aws/codebuild/standard:7.0"
	job.Runtimes = map[string]string{"nodejs": "18", "python": "3.11"}
	if _, err := Run(context.Background(), job); err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, log)
	}
	want := `[hadron] the manifest's image "aws/codebuild/standard:7.0" and runtimes nodejs 18, python 3.11 are not applied: the commands run on Hadron's host with the tools installed there; missing on PATH: npm, python3, pip3` + "\n"
	if got := log.String(); strings.Count(got, want) != 1 {
		t.Errorf("log does not say once %q:\n%s", want, got)
	}
	if !strings.Contains(log.String(), "in one shell (/bin/sh)") {
		t.Errorf("without bash on PATH the phase should run in /bin/sh:\n%s", log)
	}
}
