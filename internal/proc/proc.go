package proc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// killWait bounds the wait for a process to go after SIGKILL.
const killWait = 30 * time.Second

// Proc is a started child process, reaped in the background.
type Proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit status; set before done is closed
}

// Run starts a prepared command and reaps it in the background; name
// names it in errors. The child is killed if the process that started it
// dies, so that none outlives a crashed harness.
func Run(name string, cmd *exec.Cmd) (*Proc, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid returns the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has ended.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err waits until the process ends and returns its exit status: nil for
// exit 0, else an *exec.ExitError.
func (p *Proc) Err() error {
	<-p.done
	return p.err
}

// ExitCode waits until the process ends and returns its exit code, -1 if
// a signal ended it.
func (p *Proc) ExitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}

// Signal sends sig to the process; signalling an ended process is a no-op.
func (p *Proc) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %v: %w", p.name, sig, err)
	}
	return nil
}

// Wait waits until the process ends, at most timeout; it fails if the
// process still runs then. The exit status is Err's.
func (p *Proc) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s (pid %d): still running after %v", p.name, p.Pid(), timeout)
	}
}

// Kill sends SIGKILL and waits until the process is gone.
func (p *Proc) Kill() error {
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	return p.Wait(killWait)
}

// Stop sends SIGTERM and waits up to grace for the process to end, then
// kills it.
func (p *Proc) Stop(grace time.Duration) error {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return p.Kill()
	}
	if p.Wait(grace) != nil {
		return p.Kill()
	}
	return nil
}
