package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one child process of the test binary. Its output goes to a log
// file, or wherever the caller set up before start.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit status; set before done is closed
}

// startProc starts bin with args, appending its stdout and stderr to
// logPath. env, if not nil, replaces the environment.
func startProc(name, bin string, args []string, logPath string, env []string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	defer logf.Close() // the child keeps its own descriptor
	fmt.Fprintf(logf, "=== e2e %s: %s %s\n", time.Now().Format(time.RFC3339Nano), bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = env
	return runProc(name, cmd)
}

// runProc starts a prepared command and reaps it in the background. The
// child is killed if the test binary dies, so that no node outlives a
// crashed or timed-out test run.
func runProc(name string, cmd *exec.Cmd) (*proc, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// pid returns the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the process; signalling an ended process is a no-op.
func (p *proc) signal(sig syscall.Signal) error {
	if p.exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %v: %w", p.name, sig, err)
	}
	return nil
}

// wait waits until the process ends, at most timeout, and returns its exit
// status (nil for exit 0).
func (p *proc) wait(timeout time.Duration) (exitErr error, err error) {
	select {
	case <-p.done:
		return p.err, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("%s (pid %d) still running after %v", p.name, p.pid(), timeout)
	}
}

// kill sends SIGKILL and waits until the process is gone.
func (p *proc) kill() error {
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	_, err := p.wait(30 * time.Second)
	return err
}

// exitCode returns the exit code of an ended process, -1 if a signal ended
// it.
func (p *proc) exitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}

// Ports are taken below Linux's ephemeral range (32768-60999 by default), so
// that no outgoing connection of another process is given a node's port
// while the node is down between a kill and its restart with the same
// arguments.
const (
	portLow  = 20000
	portHigh = 32000
)

var ports struct {
	mu   sync.Mutex
	used map[int]bool
}

// portFree reports whether port is free on 127.0.0.1 for both TCP and UDP,
// by binding it and closing it again.
func portFree(port int) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	pc.Close()
	return true
}

// freePortRange returns the first of n consecutive ports that are free and
// that this test binary has not handed out before; they are then reserved
// for the rest of the run.
func freePortRange(n int) (int, error) {
	ports.mu.Lock()
	defer ports.mu.Unlock()
	if ports.used == nil {
		ports.used = make(map[int]bool)
	}
	for try := 0; try < 200; try++ {
		base := portLow + rand.IntN(portHigh-portLow-n)
		ok := true
		for p := base; p < base+n && ok; p++ {
			ok = !ports.used[p] && portFree(p)
		}
		if !ok {
			continue
		}
		for p := base; p < base+n; p++ {
			ports.used[p] = true
		}
		return base, nil
	}
	return 0, fmt.Errorf("ports: no %d free consecutive ports in %d-%d", n, portLow, portHigh)
}

// freeAddr returns a free 127.0.0.1 address (for TCP and UDP alike).
func freeAddr() (string, error) {
	p, err := freePortRange(1)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}

// tailFile returns the last n lines of the file at path.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// childPids returns the pids of the live processes whose parent is ppid,
// from /proc.
func childPids(ppid int) ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("proc: %w", err)
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// Fields after the command name, which is in parentheses and may
		// hold spaces: state, ppid, ...
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		if pp, err := strconv.Atoi(f[1]); err == nil && pp == ppid {
			out = append(out, pid)
		}
	}
	return out, nil
}

// pidAlive reports whether a process with this pid exists and is not a
// zombie.
func pidAlive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return true
	}
	f := strings.Fields(string(stat[i+1:]))
	return len(f) == 0 || f[0] != "Z"
}
