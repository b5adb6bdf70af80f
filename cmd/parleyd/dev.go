package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/parleychat/parley/daemon"
)

// devNode is one child parleyd of a dev cluster.
type devNode struct {
	name                   string
	data                   string
	client, raft, httpAddr string
	cmd                    *exec.Cmd
	done                   chan struct{}
}

// runDev runs a local cluster of N nodes on 127.0.0.1, each a separate
// parleyd process, until interrupted; then it stops them all cleanly.
func runDev(args []string) error {
	fs := flag.NewFlagSet("parleyd dev", flag.ContinueOnError)
	nodes := fs.Int("nodes", 3, "number of nodes")
	dir := fs.String("dir", "parley-dev", "directory for the nodes' data (kept across runs)")
	basePort := fs.Int("base-port", 7400, "node i (from 0) listens on P+10i (clients, UDP), P+10i+1 (Raft), P+80+i (HTTP)")
	profile := fs.String("profile", "small", "memory profile of new nodes")
	shards := fs.Int("shards", 0, "room shards of a new cluster (default 16, or 8 with --profile small)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *nodes < 1 || *nodes > 9 {
		return usageError{fmt.Errorf("--nodes must be 1 to 9")}
	}
	if *basePort < 1024 || *basePort+90 > 65535 {
		return usageError{fmt.Errorf("--base-port out of range")}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var running []*devNode
	defer func() { stopAll(running) }()
	for i := 0; i < *nodes; i++ {
		n := &devNode{
			name:     fmt.Sprintf("n%d", i+1),
			data:     filepath.Join(*dir, fmt.Sprintf("n%d", i+1)),
			client:   "127.0.0.1:" + strconv.Itoa(*basePort+10*i),
			raft:     "127.0.0.1:" + strconv.Itoa(*basePort+10*i+1),
			httpAddr: "127.0.0.1:" + strconv.Itoa(*basePort+80+i),
		}
		args := []string{"--data", n.data, "--name", n.name, "--listen", n.client, "--raft", n.raft,
			"--http", n.httpAddr, "--advertise", "127.0.0.1", "--profile", *profile, "--shards", strconv.Itoa(*shards)}
		if i > 0 && !exists(filepath.Join(n.data, "identity.json")) {
			token, err := os.ReadFile(daemon.JoinTokenFile(running[0].data))
			if err != nil {
				return fmt.Errorf("dev: join token of n1: %w", err)
			}
			args = append(args, "--join", running[0].client, "--token", strings.TrimSpace(string(token)))
		}
		if err := n.start(self, args); err != nil {
			return err
		}
		running = append(running, n)
		if err := n.waitHealthy(ctx, 2*time.Minute); err != nil {
			return err
		}
	}
	fmt.Printf("\nParley dev cluster: %d nodes, data in %s\n", len(running), *dir)
	for _, n := range running {
		fmt.Printf("  %s  clients %s  raft %s  http http://%s/healthz\n", n.name, n.client, n.raft, n.httpAddr)
	}
	servers := make([]string, len(running))
	for i, n := range running {
		servers[i] = n.client
	}
	fmt.Printf("\nTry, in another terminal:\n  export PARLEY_SERVER=%s PARLEY_USER=alice PARLEY_PASSWORD=secret\n", strings.Join(servers, ","))
	fmt.Printf("  parley send --room general \"hi\"\n  parley tail --room general --from 1\n  parley status\n\nCtrl-C stops every node.\n\n")
	<-ctx.Done()
	fmt.Println("\nstopping the dev cluster")
	return nil
}

func (n *devNode) start(self string, args []string) error {
	n.cmd = exec.Command(self, args...)
	out, err := n.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	n.cmd.Stderr = n.cmd.Stdout
	// Children get their own process group: a Ctrl-C in the terminal
	// reaches only dev, which stops them in order.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		return fmt.Errorf("dev: start %s: %w", n.name, err)
	}
	n.done = make(chan struct{})
	go prefixLines(os.Stdout, n.name, out)
	go func() {
		err := n.cmd.Wait()
		if err != nil {
			fmt.Fprintf(os.Stderr, "[%s] exited: %v\n", n.name, err)
		}
		close(n.done)
	}()
	return nil
}

var outMu sync.Mutex

func prefixLines(w io.Writer, name string, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		outMu.Lock()
		fmt.Fprintf(w, "[%s] %s\n", name, sc.Text())
		outMu.Unlock()
	}
}

func (n *devNode) waitHealthy(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		// /livez, not /healthz: a restarted node has no registry quorum
		// until the nodes after it are started too.
		resp, err := client.Get("http://" + n.httpAddr + "/livez")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-n.done:
			return fmt.Errorf("dev: %s exited while starting", n.name)
		case <-ctx.Done():
			return errors.New("dev: interrupted")
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("dev: %s not healthy after %v", n.name, timeout)
}

// stopAll sends SIGTERM to every node, newest first, and waits; a node that
// has not stopped after 20 seconds is killed.
func stopAll(nodes []*devNode) {
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		select {
		case <-n.done:
			continue
		default:
		}
		n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(20 * time.Second):
			n.cmd.Process.Kill()
			<-n.done
		}
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
