package proc

import (
	"fmt"
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
}

// Start starts bin with args, appending its stdout and stderr to the file
// at logPath; name names it in errors.
func (l Launcher) Start(name, bin string, args []string, logPath string) (*Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	defer logf.Close() // the child keeps its own descriptor
	fmt.Fprintf(logf, "=== %s %s: %s %s\n", l.Tag, time.Now().Format(time.RFC3339Nano), bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: l.OwnGroup}
	return Run(name, cmd)
}
