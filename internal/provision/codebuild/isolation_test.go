package codebuild

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/sandbox"
)

// mintHelper, as the value of helperEnv, makes the test binary play the
// server binary a hostile run re-executes (`hadron keys create --data-dir
// ../..`): it reads the data directory's master key, prints it and writes a
// new key file next to it.
const mintHelper = "mint"

// mintKey is the test binary's stand-in for `hadron keys create`.
func mintKey(dataDir string) int {
	b, err := os.ReadFile(filepath.Join(dataDir, "keys.master"))
	if err != nil {
		os.Stderr.WriteString("mint: " + err.Error() + "\n")
		return 1
	}
	os.Stdout.Write(b)
	if err := os.WriteFile(filepath.Join(dataDir, "minted.json"), b, 0o600); err != nil {
		os.Stderr.WriteString("mint: " + err.Error() + "\n")
		return 1
	}
	return 0
}

// hostileData is a data directory laid out as the server's, with a secret in
// every file a run must not reach.
type hostileData struct {
	dir    string // DATA_DIR
	secret string // in keys.master, keys.json, hadron.db, the other run's files
	policy *sandbox.Policy
	status sandbox.Status
}

func newHostileData(t testing.TB) *hostileData {
	t.Helper()
	var b [8]byte
	rand.Read(b[:])
	h := &hostileData{secret: "SECRET-" + hex.EncodeToString(b[:])}
	base := t.TempDir()
	h.dir = filepath.Join(base, "data")
	for _, d := range []string{h.dir, filepath.Join(h.dir, "work", "other-run")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// As `hadron serve --run-as` leaves them: the run's user may pass
	// through to its work directory, not list or read what is beside it.
	for _, d := range []string{filepath.Dir(base), base, h.dir, filepath.Join(h.dir, "work")} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"keys.master", "keys.json", "hadron.db", "work/other-run/secret.txt"} {
		if err := os.WriteFile(filepath.Join(h.dir, f), []byte(h.secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	h.policy, h.status, err = sandbox.Setup(sandbox.Config{Mode: sandbox.BestEffort, Protect: []string{h.dir}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *hostileData) job(commands ...string) (Job, *logSink) {
	log := newLogSink()
	var b [4]byte
	rand.Read(b[:])
	return Job{Dir: filepath.Join(h.dir, "work", "run-"+hex.EncodeToString(b[:])), Commands: commands, Log: log, Isolation: h.policy, Supervisor: testSupervisor}, log
}

func requireLandlock(t *testing.T, st sandbox.Status) {
	t.Helper()
	if m, _ := st.Get(sandbox.MechLandlock); !m.On {
		t.Skip("Landlock is not in force on this machine: " + m.Detail)
	}
}

// TestIsolatedRunCannotReachTheServer replays the escalation of issue 17
// and the other ways out: each hostile command must fail and leave no
// secret in the run's output, and nothing it tried may have happened.
func TestIsolatedRunCannotReachTheServer(t *testing.T) {
	h := newHostileData(t)
	requireLandlock(t, h.status)
	t.Logf("protections in force:\n%s", h.status)
	server := strconv.Itoa(os.Getpid())
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	rand.Read(b[:])
	mark := hex.EncodeToString(b[:])
	escapes := []string{
		filepath.Join(h.dir, "work", "escape"),
		filepath.Join(h.dir, "escape"),
		"/etc/hadron-escape-" + mark,
		"/tmp/hadron-escape-" + mark,
		filepath.Join(h.dir, "minted.json"),
	}
	for _, f := range escapes {
		t.Cleanup(func() { os.Remove(f) })
	}

	tests := []struct {
		name, command string
	}{
		{"keys.master relative", "cat ../../keys.master"},
		{"keys.master absolute", "cat " + h.dir + "/keys.master"},
		{"keys.json", "cat ../../keys.json"},
		{"database", "cat ../../hadron.db"},
		{"another run's directory", "cat ../other-run/secret.txt"},
		{"list the data directory", "ls -la ../.."},
		{"symlink to keys", "ln -s ../../keys.master k && cat k"},
		{"hard link to keys", "ln ../../keys.master k && cat k"},
		{"server environ", "cat /proc/" + server + "/environ"},
		{"server memory", "head -c 64 /proc/" + server + "/mem"},
		{"parent environ", "cat /proc/$PPID/environ"},
		{"server binary through /proc", helperEnv + "=" + mintHelper + ` "$(readlink /proc/$PPID/exe)" ../..`},
		{"server binary by path", helperEnv + "=" + mintHelper + " " + exe + " ../.."},
		{"write beside the run", "echo pwned > ../escape"},
		{"write in the data directory", "echo pwned > " + h.dir + "/escape"},
		{"write in /etc", "echo pwned > /etc/hadron-escape-" + mark},
		{"write in the host's /tmp", "echo pwned > /tmp/hadron-escape-" + mark},
		{"truncate keys.json", ": > ../../keys.json"},
		{"signal the server", "kill -TERM " + server},
	}
	sigterm := make(chan os.Signal, 1)
	signal.Notify(sigterm, syscall.SIGTERM)
	defer signal.Stop(sigterm)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job, log := h.job(tt.command)
			_, err := Run(context.Background(), job)
			var cerr *CommandError
			if !errors.As(err, &cerr) {
				t.Errorf("Run = %v, want the command to fail\nlog:\n%s", err, log)
			}
			for _, leak := range []string{h.secret, "do-not-leak"} {
				if strings.Contains(log.String(), leak) {
					t.Errorf("the run's output holds a secret %q:\n%s", leak, log)
				}
			}
			t.Logf("log:\n%s", log)
		})
	}
	for _, f := range escapes {
		if _, err := os.Lstat(f); err == nil {
			t.Errorf("%s exists: a run wrote outside its work directory", f)
		}
	}
	for _, f := range []string{"keys.json", "keys.master", "hadron.db"} {
		if got := readFile(t, filepath.Join(h.dir, f)); got != h.secret+"\n" {
			t.Errorf("%s changed to %q", f, got)
		}
	}
	select {
	case <-sigterm:
		t.Error("the server got the run's SIGTERM")
	default:
	}
}

// TestIsolatedRunLeavesNoDaemon: a daemon a run leaves behind (`setsid cmd
// &`, out of its process group) dies with the run.
func TestIsolatedRunLeavesNoDaemon(t *testing.T) {
	h := newHostileData(t)
	if !h.policy.Namespaces {
		m, _ := h.status.Get(sandbox.MechNamespaces)
		t.Skip("no PID namespaces on this machine: " + m.Detail)
	}
	var b [3]byte
	rand.Read(b[:])
	arg := "1000." + strconv.Itoa(int(b[0])<<16|int(b[1])<<8|int(b[2])) // unique, and still a number for sleep
	job, log := h.job("setsid sleep " + arg + " </dev/null >/dev/null 2>&1 & echo started")
	if _, err := Run(context.Background(), job); err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, log)
	}
	deadline := time.Now().Add(5 * time.Second)
	for pids := sleepers(arg); len(pids) > 0; pids = sleepers(arg) {
		if time.Now().After(deadline) {
			for _, pid := range pids {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Fatalf("the run's daemon still runs after the run: pids %v", pids)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sleepers lists the live processes running `sleep arg`.
func sleepers(arg string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(cmdline), arg) && processAlive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestIsolatedRunDoesOrdinaryWork: what a template's commands normally do
// still works under isolation.
func TestIsolatedRunDoesOrdinaryWork(t *testing.T) {
	h := newHostileData(t)
	job, log := h.job(
		`mkdir -p sub/deeper && cd sub && export GREETING=hello && echo "$GREETING" > f.txt && cat f.txt`,
		// One shell per phase: the cd and the export carry over.
		`/usr/bin/env | grep -q '^GREETING=hello$' || exit 1; cd .. && cat proton-inputs.json`,
		`echo scratch > "$TMPDIR/t" && cat "$TMPDIR/t" && mktemp >/dev/null`,
		`mv sub/f.txt sub/deeper/g.txt && ls /usr/bin >/dev/null && sh -c 'echo child' && echo x > /dev/null`,
		`printf '{"greeting":"%s"}' "$(cat sub/deeper/g.txt)" > proton-outputs.json`,
	)
	job.Inputs = []byte(`{"environment":{"name":"dev"}}`)
	res, err := Run(context.Background(), job)
	if err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, log)
	}
	if got := res.Outputs["greeting"]; got != "hello" {
		t.Errorf("outputs = %v, want greeting=hello\nlog:\n%s", res.Outputs, log)
	}
	for _, want := range []string{"hello", `{"environment":{"name":"dev"}}`, "scratch", "child"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// TestIsolatedRunReportsSignalDeath: under a PID namespace the supervisor
// cannot re-raise the shell's signal; the run still fails, as status 128+N.
func TestIsolatedRunReportsSignalDeath(t *testing.T) {
	h := newHostileData(t)
	job, log := h.job("kill -KILL $$")
	_, err := Run(context.Background(), job)
	var cerr *CommandError
	if !errors.As(err, &cerr) {
		t.Fatalf("Run = %v, want a *CommandError\nlog:\n%s", err, log)
	}
	if cerr.Signal != "SIGKILL" && cerr.ExitCode != 128+int(syscall.SIGKILL) {
		t.Errorf("CommandError = %+v, want SIGKILL or exit status 137", cerr)
	}
}

// TestIsolatedCancelKeepsTheGracePeriod: a cancelled command whose trap
// starts a cleanup in the background and exits still gets its cleanup done
// within the grace period, although the run's PID namespace ends with it.
func TestIsolatedCancelKeepsTheGracePeriod(t *testing.T) {
	h := newHostileData(t)
	job, log := h.job(`trap '(sleep 0.3; echo cleaned > cleaned) & exit 143' TERM; echo ready; while :; do sleep 0.05; done`)
	job.Grace = 5 * time.Second
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	errc := runAsync(ctx, job)
	log.waitFor(t, "\nready\n")
	cancel(errUserCancel)
	err := await(t, errc)
	var cerr *CanceledError
	if !errors.As(err, &cerr) || cerr.Killed {
		t.Fatalf("Run = %v, want a cancel without SIGKILL\nlog:\n%s", err, log)
	}
	if got := readFile(t, filepath.Join(job.Dir, "cleaned")); got != "cleaned\n" {
		t.Errorf("cleaned = %q", got)
	}
}

// TestForgedMarkersDoNotStopACancel: a run can read its own script and so
// its marker token; forging "the last command ended well" must not make it
// immune to a cancel (it may only misreport its own result).
func TestForgedMarkersDoNotStopACancel(t *testing.T) {
	h := newHostileData(t)
	job, log := h.job(`tok=$(grep -ao 'hadron-[0-9a-f]* ' /proc/$$/fd/255 | head -n 1); printf '\036%se 0 0\n' "$tok"; echo ready; while :; do sleep 0.05; done`)
	job.Grace = 500 * time.Millisecond
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	errc := runAsync(ctx, job)
	log.waitFor(t, "\nready\n")
	if !strings.Contains(log.String(), "command exited with status 0") {
		t.Fatalf("the forged end marker was not taken as one; the test proves nothing\nlog:\n%s", log)
	}
	cancel(errUserCancel)
	await(t, errc) // fails the test if Run does not return
}

// TestEngineRunsUnderItsIsolation: the engine the registry holds confines
// its runs with its own Policy (cmd/hadron sets it from --isolation), and
// runs them unconfined without one.
func TestEngineRunsUnderItsIsolation(t *testing.T) {
	h := newHostileData(t)
	requireLandlock(t, h.status)
	spec, _ := json.Marshal(spec{Commands: []string{`cat "` + filepath.Join(h.dir, "keys.master") + `"`}})
	for _, tc := range []struct {
		name     string
		policy   *sandbox.Policy
		wantRead bool
	}{{"isolated", h.policy, false}, {"off", nil, true}} {
		t.Run(tc.name, func(t *testing.T) {
			log := newLogSink()
			job, _ := h.job()
			e := &Engine{Isolation: tc.policy}
			_, err := e.Run(context.Background(), provision.Run{DeploymentID: "d", Operation: provision.OperationDeploy, Plan: provision.Plan{Spec: spec}, Dir: job.Dir, Log: log})
			if read := err == nil && strings.Contains(log.String(), h.secret); read != tc.wantRead {
				t.Errorf("the run read keys.master: %v, want %v (Run: %v)\nlog:\n%s", read, tc.wantRead, err, log)
			}
		})
	}
}

// TestIsolatedRunHasNoCapabilities: a server running as root gives its runs
// none of root's powers, whether they take a user of their own or (no
// hadron-run user) keep uid 0: chown to another user, which needs
// CAP_CHOWN, fails under isolation and works without it.
func TestIsolatedRunHasNoCapabilities(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the server is not root: its runs have no capabilities to lose")
	}
	h := newHostileData(t)
	t.Logf("run as: %+v (uid %d, drop capabilities %v)", h.status.Mechanisms, h.policy.UID, h.policy.DropCapabilities)
	for _, tc := range []struct {
		name   string
		policy *sandbox.Policy
		wantOK bool
	}{{"isolated", h.policy, false}, {"off", nil, true}} {
		t.Run(tc.name, func(t *testing.T) {
			job, log := h.job(`touch f && chown 4242:4242 f && grep -E '^Cap(Prm|Eff)' /proc/self/status || true; chown 4242:4242 f`)
			job.Isolation = tc.policy
			_, err := Run(context.Background(), job)
			if (err == nil) != tc.wantOK {
				t.Errorf("chown: Run = %v, want success %v\nlog:\n%s", err, tc.wantOK, log)
			}
		})
	}
}
