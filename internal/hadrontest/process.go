package hadrontest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ModuleRoot finds the directory of the module's go.mod: from `go env GOMOD`,
// or by walking up from the working directory.
func ModuleRoot() (string, error) {
	if out, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		if gomod := strings.TrimSpace(string(out)); gomod != "" && gomod != os.DevNull {
			return filepath.Dir(gomod), nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Build builds ./cmd/hadron and, beside it, ./cmd/hadron-supervisor (which
// the server then uses for its runs, as an installed one does) into dir and
// returns the server binary's path. A TestMain calls it once per test
// binary.
func Build(dir string) (string, error) {
	return build(dir, "hadron", "./cmd/hadron", "./cmd/hadron-supervisor")
}

// BuildSupervisor builds ./cmd/hadron-supervisor into dir and returns its
// path.
func BuildSupervisor(dir string) (string, error) {
	return build(dir, "hadron-supervisor", "./cmd/hadron-supervisor")
}

// build builds pkgs into dir and returns the path of the binary named bin.
func build(dir, bin string, pkgs ...string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	args := append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)
	build := exec.Command("go", args...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s in %s: %w\n%s", strings.Join(pkgs, " "), root, err, out)
	}
	return filepath.Join(dir, bin), nil
}

// WithoutPrefixes returns env without the variables whose "NAME=value"
// starts with one of prefixes.
func WithoutPrefixes(env []string, prefixes ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(kv, p) })
	})
}

// Process is one running `hadron serve`.
type Process struct {
	// Endpoint is where it listens: http://127.0.0.1:port.
	Endpoint string

	cmd     *exec.Cmd
	log     syncBuffer
	done    chan struct{} // closed when the process has exited and been reaped
	waitErr error         // cmd.Wait's result, set before done is closed
}

var listeningRE = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

// Start runs bin with args (which should make it listen on port 0), with
// the environment minus every HADRON_ variable, and waits up to timeout
// until it says where it listens. On an error the process is not running.
// Start registers nothing with a test: the caller stops the process.
func Start(bin string, args []string, timeout time.Duration) (*Process, error) {
	return StartEnv(bin, args, nil, timeout)
}

// StartEnv is Start with env ("KEY=value") added to the process's
// environment, winning over the inherited variables.
func StartEnv(bin string, args, env []string, timeout time.Duration) (*Process, error) {
	p := &Process{done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(WithoutPrefixes(os.Environ(), "HADRON_"), env...)
	// The server's children may hold the pipe's write end after the server
	// exits; an *os.File (not an io.Writer) keeps Wait from waiting for them.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	pw.Close()
	endpoint := make(chan string, 1)
	go func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.log.writeLine(line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case endpoint <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	select {
	case p.Endpoint = <-endpoint:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("exited at start-up (%v):\n%s", p.waitErr, p.Log())
	case <-time.After(timeout):
		p.Kill()
		return nil, fmt.Errorf("did not say where it listens within %s:\n%s", timeout, p.Log())
	}
}

// Log returns what the process has written to stdout and stderr so far.
func (p *Process) Log() string { return p.log.String() }

// Exited reports whether the process has exited and been reaped.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done is closed when the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Terminate sends SIGTERM and waits up to timeout for the exit; then it
// kills the process. It returns the exit code (-1 after a signal) and
// whether the process had to be killed. A process that has exited already
// just reports its code.
func (p *Process) Terminate(timeout time.Duration) (code int, killed bool, err error) {
	if !p.Exited() {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return 0, false, fmt.Errorf("SIGTERM: %w", err)
		}
		select {
		case <-p.done:
		case <-time.After(timeout):
			killed = true
			if err := p.Kill(); err != nil {
				return 0, true, err
			}
		}
	}
	return p.cmd.ProcessState.ExitCode(), killed, nil
}

// Signal sends sig to the process: SIGSTOP pauses it as a frozen VM or a
// long GC pause would, SIGCONT resumes it.
func (p *Process) Signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	return nil
}

// Kill SIGKILLs the process, as a crash would, and waits until it is reaped.
func (p *Process) Kill() error {
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGKILL: %w", err)
	}
	<-p.done
	return nil
}

// syncBuffer is a process's log, written by one goroutine and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) writeLine(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(line)
	b.buf.WriteByte('\n')
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
