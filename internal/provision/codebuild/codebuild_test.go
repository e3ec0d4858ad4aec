package codebuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/hadrontest"
	"github.com/hadronhq/hadron/internal/provision/supervisor"
)

// testSecret is set in the test process's environment; no command may see it.
const testSecret = "HADRON_TEST_SECRET"

func TestMain(m *testing.M) {
	MaybeSupervise() // a supervisor started by Run exits here
	if os.Getenv(helperEnv) == mintHelper && len(os.Args) == 2 {
		os.Exit(mintKey(os.Args[1]))
	}
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperServer())
	}
	os.Setenv(testSecret, "do-not-leak")
	// The runs of this package's tests use the standalone supervisor, as
	// an installed server does; the other packages' tests use the re-exec.
	dir, err := os.MkdirTemp("", "hadron-supervisor-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testSupervisor, err = buildSupervisor(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testSupervisor is the standalone supervisor the tests' jobs run under.
var testSupervisor *Supervisor

func buildSupervisor(dir string) (*Supervisor, error) {
	path, err := hadrontest.BuildSupervisor(dir)
	if err != nil {
		return nil, err
	}
	return OpenSupervisor(path)
}

// logSink is a Job.Log that tests can wait on.
type logSink struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{})} }

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor waits until the log holds s.
func (l *logSink) waitFor(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		l.mu.Lock()
		found, changed := strings.Contains(l.buf.String(), s), l.changed
		l.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("log never showed %q; log:\n%s", s, l.String())
		}
	}
}

// setup returns a job for commands in a fresh directory, logging to a sink.
func setup(t *testing.T, commands ...string) (Job, *logSink) {
	t.Helper()
	log := newLogSink()
	return Job{Dir: filepath.Join(t.TempDir(), "work"), Commands: commands, Log: log, Supervisor: testSupervisor}, log
}

// runAsync starts Run and returns a channel for its outcome.
func runAsync(ctx context.Context, job Job) <-chan error {
	errc := make(chan error, 1)
	go func() {
		_, err := Run(ctx, job)
		errc <- err
	}()
	return errc
}

func await(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunCommandsInOrder(t *testing.T) {
	t.Parallel()
	job, log := setup(t,
		"echo first > order.txt",
		"echo second >> order.txt; cat proton-inputs.json; echo",
		"./scripts/hello.sh script; cat data/config.txt; echo",
		`echo "arn=$RESOURCE_ARN"; echo to-stderr >&2; printf no-newline`,
		"env > env.txt; pwd -P > pwd.txt",
	)
	job.Files = map[string][]byte{
		"scripts/hello.sh": []byte("#!/bin/sh\necho \"hello from $1\"\n"),
		"data/config.txt":  []byte("config-data"),
	}
	job.Inputs = []byte(`{"environment":{"name":"dev"}}`)
	job.Env = []string{"RESOURCE_ARN=arn:aws:proton:us-east-1:000000000000:environment/dev"}
	var pids []int
	job.OnStart = func(pid int) { pids = append(pids, pid) }

	res, err := Run(context.Background(), job)
	if err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, log)
	}
	if res.Outputs != nil {
		t.Errorf("Outputs = %v, want nil without an outputs file", res.Outputs)
	}
	if len(pids) != len(job.Commands) {
		t.Errorf("OnStart called %d times, want %d", len(pids), len(job.Commands))
	}
	if got := readFile(t, filepath.Join(job.Dir, "order.txt")); got != "first\nsecond\n" {
		t.Errorf("order.txt = %q", got)
	}
	dir, _ := filepath.EvalSymlinks(job.Dir)
	if got := strings.TrimSpace(readFile(t, filepath.Join(job.Dir, "pwd.txt"))); got != dir {
		t.Errorf("commands ran in %q, want %q", got, dir)
	}
	env := readFile(t, filepath.Join(job.Dir, "env.txt"))
	for _, want := range []string{"RESOURCE_ARN=arn:aws:proton:us-east-1:000000000000:environment/dev\n", "PATH="} {
		if !strings.Contains(env, want) {
			t.Errorf("environment lacks %q:\n%s", want, env)
		}
	}
	for _, leak := range []string{testSecret, supervisor.EnvParent} {
		if strings.Contains(env, leak) {
			t.Errorf("environment leaks %s:\n%s", leak, env)
		}
	}
	got := log.String()
	var last int
	for _, want := range []string{
		"[hadron] $ echo first > order.txt\n",
		"[hadron] command exited with status 0\n",
		`{"environment":{"name":"dev"}}`,
		"hello from script\nconfig-data\n",
		"arn=arn:aws:proton:us-east-1:000000000000:environment/dev\nto-stderr\nno-newline\n[hadron] command exited with status 0\n",
		"[hadron] $ env > env.txt; pwd -P > pwd.txt\n",
	} {
		i := strings.Index(got[last:], want)
		if i < 0 {
			t.Fatalf("log lacks %q after offset %d:\n%s", want, last, got)
		}
		last += i
	}
}

func TestRunRefusesBadJobs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(job *Job)
		want  string
	}{
		{"parent path", func(j *Job) { j.Files = map[string][]byte{"../x": nil} }, "must not contain .."},
		{"inner parent path", func(j *Job) { j.Files = map[string][]byte{"a/../../x": nil} }, "must not contain .."},
		{"absolute path", func(j *Job) { j.Files = map[string][]byte{"/etc/x": nil} }, "want a relative path"},
		{"empty path", func(j *Job) { j.Files = map[string][]byte{"": nil} }, "want a relative path"},
		{"same file twice", func(j *Job) { j.Files = map[string][]byte{"a/b": nil, "a//b": nil} }, "file exists"},
		{"bad env", func(j *Job) { j.Env = []string{"NOEQUALS"} }, "want KEY=value"},
		{"reserved env", func(j *Job) { j.Env = []string{supervisor.EnvParent + "=1"} }, "reserved"},
		{"dir not empty", func(j *Job) {
			os.MkdirAll(j.Dir, 0o700)
			os.WriteFile(filepath.Join(j.Dir, "old"), nil, 0o600)
		}, "is not empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job, _ := setup(t, "touch ran")
			tt.setup(&job)
			_, err := Run(context.Background(), job)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run error = %v, want one saying %q", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(job.Dir, "ran")); err == nil {
				t.Error("the command ran")
			}
		})
	}
}

func TestRunOutputs(t *testing.T) {
	t.Parallel()
	const leftAlone = "[hadron] proton-outputs.json is not a flat JSON object of strings, numbers and booleans"
	tests := []struct {
		name    string
		file    string // contents of proton-outputs.json; "" for no file
		want    map[string]string
		wantLog string // a file that is not ours is left alone, with this note
	}{
		{name: "no file", want: nil},
		{name: "object", file: `{"VpcId": "vpc-1", "Name": "a \"b\""}`, want: map[string]string{"VpcId": "vpc-1", "Name": `a "b"`}},
		{name: "object with number and bool", file: `{"Port": 8080, "Ratio": 1.5e3, "Public": true}`, want: map[string]string{"Port": "8080", "Ratio": "1.5e3", "Public": "true"}},
		{name: "notify list", file: `[{"key": "VpcId", "valueString": "vpc-1"}, {"key": "Empty"}]`, want: map[string]string{"VpcId": "vpc-1", "Empty": ""}},
		{name: "empty object", file: `{}`, want: map[string]string{}},
		{name: "CDK nested outputs", file: `{"EnvStack": {"VpcId": "vpc-1"}}`, wantLog: leftAlone + ` (output "EnvStack": value {"VpcId": "vpc-1"} is not a string, number or boolean)`},
		{name: "not json", file: `VpcId=vpc-1`, wantLog: leftAlone},
		{name: "truncated", file: `{"VpcId": "vpc-1"`, wantLog: leftAlone},
		{name: "null value", file: `{"VpcId": null}`, wantLog: leftAlone},
		{name: "list without key", file: `[{"valueString": "x"}]`, wantLog: leftAlone + " (output 0: missing key)"},
		{name: "list with duplicate", file: `[{"key": "a"}, {"key": "a"}]`, wantLog: `key "a" given twice`},
		{name: "blank file", file: " \n", wantLog: leftAlone + " (empty file)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job, log := setup(t, "true")
			if tt.file != "" {
				job.Files = map[string][]byte{"outputs.json": []byte(tt.file)}
				job.Commands = []string{"cp outputs.json " + OutputsFile}
			}
			res, err := Run(context.Background(), job)
			if err != nil {
				t.Fatalf("Run: %v\nlog:\n%s", err, log)
			}
			if tt.wantLog != "" && !strings.Contains(log.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, log)
			}
			if (res.Outputs == nil) != (tt.want == nil) || len(res.Outputs) != len(tt.want) {
				t.Fatalf("Outputs = %#v, want %#v", res.Outputs, tt.want)
			}
			for k, v := range tt.want {
				if res.Outputs[k] != v {
					t.Errorf("Outputs[%q] = %q, want %q", k, res.Outputs[k], v)
				}
			}
		})
	}
}

func TestRunCommandFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		command    string
		wantCode   int
		wantSignal string
		wantTail   string // the whole tail
		wantError  string
	}{
		{
			name:      "exit status",
			command:   "seq 1 100; echo why >&2; exit 3",
			wantCode:  3,
			wantTail:  strings.Join(strings.Fields("82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99 100 why"), "\n"),
			wantError: `command 2 of 3 "seq 1 100; echo why >&2; exit 3" exited with status 3: 82` + "\n83",
		},
		{
			name: "no output", command: "exit 1", wantCode: 1,
			wantError: `command 2 of 3 "exit 1" exited with status 1`,
		},
		{
			name: "SIGTERM", command: "echo dying; kill -TERM $$", wantCode: -1, wantSignal: "SIGTERM", wantTail: "dying",
			wantError: `command 2 of 3 "echo dying; kill -TERM $$" was killed by signal SIGTERM: dying`,
		},
		{name: "SIGKILL", command: "kill -KILL $$", wantCode: -1, wantSignal: "SIGKILL"},
		// Signals that Go's runtime would handle its own way in the supervisor.
		{name: "SIGSEGV", command: "ulimit -c 0; kill -SEGV $$", wantCode: -1, wantSignal: "SIGSEGV"},
		// bash ignores SIGQUIT, so a shell that does not dies of it.
		{name: "SIGQUIT", command: "exec sh -c 'ulimit -c 0; kill -QUIT $$'", wantCode: -1, wantSignal: "SIGQUIT"},
		{name: "SIGUSR1", command: "kill -USR1 $$", wantCode: -1, wantSignal: "SIGUSR1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job, log := setup(t, "echo one", tt.command, "touch never-ran")
			_, err := Run(context.Background(), job)
			var cerr *CommandError
			if !errors.As(err, &cerr) {
				t.Fatalf("Run error = %v, want a *CommandError\nlog:\n%s", err, log)
			}
			if cerr.Index != 1 || cerr.Count != 3 || cerr.Command != tt.command || cerr.ExitCode != tt.wantCode || cerr.Signal != tt.wantSignal {
				t.Errorf("CommandError = %+v, want index 1 of 3, command %q, code %d, signal %q", cerr, tt.command, tt.wantCode, tt.wantSignal)
			}
			if cerr.Tail != tt.wantTail {
				t.Errorf("Tail = %q, want %q", cerr.Tail, tt.wantTail)
			}
			if !strings.HasPrefix(err.Error(), tt.wantError) {
				t.Errorf("Error() = %q, want it to start with %q", err, tt.wantError)
			}
			if _, err := os.Stat(filepath.Join(job.Dir, "never-ran")); err == nil {
				t.Error("the command after the failure ran")
			}
			want := "[hadron] command exited with status " + strconv.Itoa(tt.wantCode) + "\n"
			if tt.wantSignal != "" {
				want = "[hadron] command was killed by signal " + tt.wantSignal + "\n"
			}
			if !strings.HasSuffix(log.String(), want) {
				t.Errorf("log does not end with %q:\n%s", want, log)
			}
		})
	}
}
