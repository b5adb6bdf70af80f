// Package daemontest builds real Parley clusters of in-process daemon
// servers for tests: real dragonboat NodeHosts on real disks, Raft over
// mutual TLS and clients over QUIC, all on 127.0.0.1 with ports the OS
// picks. It is the server side that the SDK and CLI tests talk to.
package daemontest

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/daemon"
	"github.com/parleychat/parley/placement"
)

// Timeouts of the cluster's lifecycle steps.
const (
	// startTimeout bounds starting (bootstrapping, joining or reopening)
	// one server.
	startTimeout = time.Minute
	// formTimeout bounds waiting for the cluster to form.
	formTimeout = time.Minute
)

// Options tune StartCluster.
type Options struct {
	// Shards is the number of room shards (default 4: enough to be
	// multi-shard, few enough to start fast).
	Shards int
	// Replicas is the voters per room shard (default 3).
	Replicas int
	// Configure, if set, adjusts server i's configuration (0-based) before
	// it first starts, say to lower RequestsPerSecond. Restart reuses the
	// adjusted configuration.
	Configure func(i int, cfg *daemon.Config)
}

// Cluster is a set of in-process daemon servers forming one Parley cluster.
// Its methods are meant for the test goroutine; they are not safe for
// concurrent use.
type Cluster struct {
	t       testing.TB
	shards  int
	r       int
	cfgs    []daemon.Config
	servers []*daemon.Server // nil while stopped
	addrs   []string         // last client address of each server
}

// StartCluster starts n servers on 127.0.0.1: the first bootstraps a new
// cluster, the others join it one by one with its join token. It returns
// once every server sees every shard with min(n, 3) voting replicas (the
// registry: min(n, 5)) and a leader. The servers are closed when the test
// ends. Logs go to stderr at level Warn, or Debug when the environment
// variable PARLEY_TEST_DEBUG is set.
func StartCluster(t testing.TB, n int, opts ...Options) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("daemontest: cluster of %d servers", n)
	}
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Shards <= 0 {
		o.Shards = 4
	}
	c := &Cluster{
		t:       t,
		shards:  o.Shards,
		r:       cmp.Or(o.Replicas, placement.DefaultReplication),
		cfgs:    make([]daemon.Config, n),
		servers: make([]*daemon.Server, n),
		addrs:   make([]string, n),
	}
	// The data dirs go before the servers are stopped: cleanups run last
	// registered first.
	base := t.TempDir()
	t.Cleanup(c.Close)
	log := testLogger()
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		// A Raft port found free can be taken by another test process
		// before the node binds it: a first start that finds its port
		// taken starts again on another port, in a fresh data dir.
		for attempt := 0; ; attempt++ {
			dir := name
			if attempt > 0 {
				dir = fmt.Sprintf("%s-%d", name, attempt)
			}
			cfg := daemon.Config{
				DataDir:   filepath.Join(base, dir),
				Name:      name,
				Listen:    "127.0.0.1:0",
				Raft:      chatcoretest.FreeAddr(t),
				HTTP:      "127.0.0.1:0",
				Advertise: "127.0.0.1",
				Shards:    o.Shards,
				Replicas:  o.Replicas,
				Profile:   "small",
				Logger:    log.With("node", name),
			}
			if i > 0 {
				cfg.Join = c.addrs[0]
				cfg.Token = c.joinToken()
			}
			if o.Configure != nil {
				o.Configure(i, &cfg)
			}
			c.cfgs[i] = cfg
			err := c.tryStart(i, cfg)
			if err == nil {
				break
			}
			if attempt >= 4 || !strings.Contains(err.Error(), "address already in use") {
				t.Fatalf("daemontest: start server %d: %v", i, err)
			}
			t.Logf("daemontest: server %d: %v; again on another port", i, err)
		}
	}
	c.WaitFormed(formTimeout)
	return c
}

// joinToken reads the join token the first server wrote at bootstrap.
func (c *Cluster) joinToken() string {
	c.t.Helper()
	b, err := os.ReadFile(daemon.JoinTokenFile(c.cfgs[0].DataDir))
	if err != nil {
		c.t.Fatalf("daemontest: join token: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// start starts server i with cfg.
func (c *Cluster) start(i int, cfg daemon.Config) {
	c.t.Helper()
	if err := c.tryStart(i, cfg); err != nil {
		c.t.Fatalf("daemontest: start server %d: %v", i, err)
	}
}

// tryStart starts server i with cfg, or says why it could not.
func (c *Cluster) tryStart(i int, cfg daemon.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	srv, err := daemon.Start(ctx, cfg)
	if err != nil {
		return err
	}
	c.servers[i] = srv
	c.addrs[i] = srv.ClientAddr()
	return nil
}

// WaitFormed waits until every running server sees every shard with
// min(n, replicas) voting replicas (the registry: placement.RegistryVoterCount(n))
// and a leader, where
// n counts every server of the cluster, stopped ones included. It fails
// the test if that takes longer than timeout.
func (c *Cluster) WaitFormed(timeout time.Duration) {
	c.t.Helper()
	n := len(c.servers)
	chatcoretest.WaitFor(c.t, timeout, func() error {
		for i, srv := range c.servers {
			if srv == nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			st, err := srv.Node().Status(ctx)
			cancel()
			if err != nil {
				return fmt.Errorf("server %d: status: %w", i, err)
			}
			if len(st.Shards) != c.shards+1 {
				return fmt.Errorf("server %d sees %d shards, want %d", i, len(st.Shards), c.shards+1)
			}
			for _, s := range st.Shards {
				want := min(n, c.r)
				if s.ID == placement.RegistryShard {
					want = placement.RegistryVoterCount(n)
				}
				if len(s.Replicas) != want || s.Leader == 0 {
					return fmt.Errorf("server %d: shard %d: voters %v, want %d; leader %d",
						i, s.ID, s.Replicas, want, s.Leader)
				}
			}
		}
		return nil
	})
}

// Len returns the number of servers, running or stopped.
func (c *Cluster) Len() int { return len(c.servers) }

// Addrs returns the client (QUIC) address of every server, in order,
// stopped servers included (with the address they last had).
func (c *Cluster) Addrs() []string { return append([]string(nil), c.addrs...) }

// Addr returns server i's client (QUIC) address.
func (c *Cluster) Addr(i int) string { return c.addrs[i] }

// Index returns the index of the server whose client address is addr, or
// -1.
func (c *Cluster) Index(addr string) int {
	for i, a := range c.addrs {
		if a == addr {
			return i
		}
	}
	return -1
}

// Server returns server i, or nil while it is stopped.
func (c *Cluster) Server(i int) *daemon.Server { return c.servers[i] }

// Config returns the configuration server i was (or will be) started with.
func (c *Cluster) Config(i int) daemon.Config { return c.cfgs[i] }

// CAFile returns the path of a PEM file holding the cluster CA
// certificate, for a client's --ca.
func (c *Cluster) CAFile() string { return chatcore.NodeTLS(c.cfgs[0].DataDir).CA }

// Stop closes server i cleanly: its clients see their connections closed.
// Its data stays for Restart. Stopping a stopped server does nothing.
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	srv := c.servers[i]
	if srv == nil {
		return
	}
	c.servers[i] = nil
	if err := srv.Close(); err != nil {
		c.t.Errorf("daemontest: close server %d: %v", i, err)
	}
}

// Restart starts stopped server i again from its data, with the same
// configuration and Raft port. It asks for the client port it had; if that
// is taken, the OS picks another, which the server publishes and Addrs
// reflects. Restart returns once the cluster has formed again (see
// WaitFormed).
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if c.servers[i] != nil {
		c.t.Fatalf("daemontest: restart server %d: still running", i)
	}
	cfg := c.cfgs[i]
	if portFree(c.addrs[i]) {
		cfg.Listen = c.addrs[i]
	}
	c.start(i, cfg)
	c.WaitFormed(formTimeout)
}

// portFree reports whether the UDP address addr can be bound right now.
func portFree(addr string) bool {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	pc.Close()
	return true
}

// Close stops every running server. It runs when the test ends; calling it
// earlier is allowed.
func (c *Cluster) Close() {
	for i := range c.servers {
		c.Stop(i)
	}
}

// testLogger logs at Warn, or at Debug when PARLEY_TEST_DEBUG is set, on
// stderr.
func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("PARLEY_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
