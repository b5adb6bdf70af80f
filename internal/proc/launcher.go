package proc

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Launcher starts processes whose output goes to log files.
type Launcher struct {
	// Tag names the starter in the line written to a log before each
	// start: "=== <Tag> <time>: <command line>".
	Tag string
	// OwnGroup puts each process in a process group of its own, so that
	// a signal to the starter's group, such as Ctrl-C in a terminal, does
	// not reach it: the starter stops it in its own time.
	OwnGroup bool
	// Echo, if not nil, also receives the processes' output, each line
	// prefixed with "[name] ", as a terminal shows the nodes of a local
	// cluster.
	Echo io.Writer
}

// Start starts bin with args, appending its stdout and stderr to the file
// at logPath; name names it in errors.
func (l Launcher) Start(name, bin string, args []string, logPath string) (*Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	fmt.Fprintf(logf, "=== %s %s: %s %s\n", l.Tag, time.Now().Format(time.RFC3339Nano), bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if l.Echo != nil {
		// One writer for both, so that exec copies through one pipe.
		w := io.MultiWriter(logf, &echoWriter{w: l.Echo, name: name})
		cmd.Stdout, cmd.Stderr = w, w
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: l.OwnGroup}
	p, err := Run(name, cmd)
	if err != nil || l.Echo == nil {
		logf.Close() // the child has its own descriptor
		return p, err
	}
	// exec copies the output to logf until the process has ended.
	go func() {
		<-p.Done()
		logf.Close()
	}()
	return p, nil
}
