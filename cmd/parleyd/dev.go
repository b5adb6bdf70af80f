package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parleychat/parley/internal/proc"
	"github.com/parleychat/parley/internal/proccluster"
)

// Bounds of a dev cluster's start and stop.
const (
	devStartTimeout = 2 * time.Minute
	devStopGrace    = 20 * time.Second
	devLogTail      = 20
)

// runDev runs a local cluster of N nodes on 127.0.0.1, each a separate
// parleyd process started by internal/proccluster, until interrupted; then
// it stops them all cleanly. Each node's output is shown prefixed with its
// name and also kept in <dir>/<name>.log.
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

	cfg := proccluster.Config{
		Parleyd: self,
		Dir:     *dir,
		Size:    *nodes,
		Profile: *profile,
		Shards:  *shards,
		// Children get their own process group: a Ctrl-C in the terminal
		// reaches only dev, which stops them in order.
		Launcher: proc.Launcher{Tag: "parleyd dev", OwnGroup: true, Echo: os.Stdout},
		Addrs:    devAddrs(*basePort),
	}
	c, err := proccluster.Start(cfg, func(n *proccluster.Node) error { return devWaitHealthy(ctx, n) })
	if c != nil {
		defer stopAll(c.Nodes)
	}
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	fmt.Printf("\nParley dev cluster: %d nodes, data in %s\n", len(c.Nodes), *dir)
	servers := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		fmt.Printf("  %s  clients %s  raft %s  http http://%s/healthz\n", n.Name, n.Client, n.Raft, n.HTTP)
		servers[i] = n.Client
	}
	fmt.Printf("\nTry, in another terminal:\n  export PARLEY_SERVER=%s PARLEY_USER=alice PARLEY_PASSWORD=secret\n", strings.Join(servers, ","))
	fmt.Printf("  parley send --room general \"hi\"\n  parley tail --room general --from 1\n  parley status\n\nCtrl-C stops every node.\n\n")
	for _, n := range c.Nodes {
		go reportExit(n)
	}
	<-ctx.Done()
	fmt.Println("\nstopping the dev cluster")
	return nil
}

// devAddrs returns the addresses of node ni (n1 is i=0): P+10i for
// clients, P+10i+1 for Raft, P+80+i for HTTP.
func devAddrs(base int) func(name string) (client, raft, http string) {
	return func(name string) (string, string, string) {
		i, _ := strconv.Atoi(strings.TrimPrefix(name, "n"))
		i--
		addr := func(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
		return addr(base + 10*i), addr(base + 10*i + 1), addr(base + 80 + i)
	}
}

// devWaitHealthy waits until node n answers /healthz itself. It fails at
// once if the node's process exits, or if another process answers on its
// HTTP port (an older cluster on the same ports).
func devWaitHealthy(ctx context.Context, n *proccluster.Node) error {
	deadline := time.Now().Add(devStartTimeout)
	for {
		p := n.Proc()
		if p.Exited() {
			return fmt.Errorf("%s exited while starting (%v); the end of its log %s:\n%s",
				n.Name, p.Err(), n.Log, proc.Tail(n.Log, devLogTail))
		}
		err := n.CheckHealthy(ctx, nil)
		if err == nil {
			return nil
		}
		if errors.Is(err, proccluster.ErrNotOurs) {
			return fmt.Errorf("%w stop it, or pick other ports with --base-port", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy after %v: %w", n.Name, devStartTimeout, err)
		}
		select {
		case <-p.Done():
		case <-ctx.Done():
			return errors.New("interrupted")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// reportExit says on stderr if node n's process ends with an error while
// the cluster runs.
func reportExit(n *proccluster.Node) {
	p := n.Proc()
	if err := p.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "[%s] exited: %v\n", n.Name, err)
	}
}

// stopAll stops every node, newest first, each with SIGTERM, and kills one
// that has not stopped after devStopGrace.
func stopAll(nodes []*proccluster.Node) {
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		if err := n.Stop(devStopGrace); err != nil {
			fmt.Fprintf(os.Stderr, "[%s] stop: %v\n", n.Name, err)
		}
	}
}
