package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley/bench/rawproto"
	"github.com/parleychat/parley/internal/freeport"
	"github.com/parleychat/parley/internal/proc"
	"github.com/parleychat/parley/pki"
)

// RawOptions configures StartRaw.
type RawOptions struct {
	// Bin is the path of the parley-rawnode binary.
	Bin string
	// Dir holds the nodes' data, certificates and logs.
	Dir string
	// Profile is the Parley profile whose LogDB and engine settings the
	// nodes use.
	Profile string
	// Shards are the shard ids every node hosts.
	Shards []uint64
	// NoTLS turns mutual TLS between nodes off (Parley always has it on).
	NoTLS bool
	// Log receives progress messages.
	Log *slog.Logger
}

// rawNode is one parley-rawnode process.
type rawNode struct {
	name, rpc, log string
	p              *proc.Proc
}

// RawCluster is the raw dragonboat peer: three parley-rawnode processes.
type RawCluster struct {
	opts  RawOptions
	nodes []*rawNode
}

// StartRaw starts three parley-rawnode processes forming one cluster that
// hosts opts.Shards, and waits until every shard has a leader.
func StartRaw(ctx context.Context, opts RawOptions) (*RawCluster, error) {
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("raw: %w", err)
	}
	const size = 3
	raft := make([]string, size)
	rpc := make([]string, size)
	var peers []string
	for i := range size {
		var err error
		if raft[i], err = freeport.Addr(); err != nil {
			return nil, fmt.Errorf("raw: %w", err)
		}
		if rpc[i], err = freeport.Addr(); err != nil {
			return nil, fmt.Errorf("raw: %w", err)
		}
		peers = append(peers, fmt.Sprintf("%d=%s", i+1, raft[i]))
	}
	var tlsDirs []string
	if !opts.NoTLS {
		var err error
		if tlsDirs, err = writeNodeCerts(opts.Dir, size); err != nil {
			return nil, fmt.Errorf("raw: %w", err)
		}
	}
	shards := make([]string, len(opts.Shards))
	for i, s := range opts.Shards {
		shards[i] = strconv.FormatUint(s, 10)
	}
	rc := &RawCluster{opts: opts}
	for i := range size {
		n := &rawNode{name: fmt.Sprintf("raw%d", i+1), rpc: rpc[i]}
		n.log = filepath.Join(opts.Dir, n.name+".log")
		args := []string{
			"--id", strconv.Itoa(i + 1), "--raft", raft[i], "--peers", strings.Join(peers, ","),
			"--rpc", rpc[i], "--data", filepath.Join(opts.Dir, n.name), "--shards", strings.Join(shards, ","),
			"--profile", opts.Profile,
		}
		if opts.NoTLS {
			args = append(args, "--no-tls")
		} else {
			args = append(args, "--tls-dir", tlsDirs[i])
		}
		p, err := launcher.Start(n.name, opts.Bin, args, n.log)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("raw: %w", err)
		}
		n.p = p
		rc.nodes = append(rc.nodes, n)
	}
	if err := poll(ctx, formTimeout, "raw cluster ready", rc.ready); err != nil {
		rc.Close()
		return nil, fmt.Errorf("raw: %w", err)
	}
	return rc, nil
}

// writeNodeCerts makes a CA and a certificate for each of n nodes with
// Parley's own helpers, and returns each node's directory of ca.pem,
// node.pem and node-key.pem.
func writeNodeCerts(dir string, n int) ([]string, error) {
	caCert, caKey, err := pki.NewCA("bench-raw")
	if err != nil {
		return nil, err
	}
	ca, err := pki.LoadCA(caCert, caKey)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for i := range n {
		keyPEM, pub, err := pki.NewKey()
		if err != nil {
			return nil, err
		}
		cert, err := ca.IssueNodeCert(pub, fmt.Sprintf("raw%d", i+1), []string{"127.0.0.1"})
		if err != nil {
			return nil, err
		}
		d := filepath.Join(dir, fmt.Sprintf("raw%d-tls", i+1))
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		for name, b := range map[string][]byte{"ca.pem": caCert, "node.pem": cert, "node-key.pem": keyPEM} {
			if err := os.WriteFile(filepath.Join(d, name), b, 0o600); err != nil {
				return nil, err
			}
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// ready checks that every node reports a leader for every shard.
func (rc *RawCluster) ready(ctx context.Context) error {
	for _, n := range rc.nodes {
		if n.p.Exited() {
			return errors.Join(fmt.Errorf("%s exited:\n%s", n.name, proc.Tail(n.log, logTail)), errPermanent)
		}
		rcn, err := dialRaw(ctx, n.rpc)
		if err != nil {
			return err
		}
		resp, err := rcn.call(rawproto.Request{Op: rawproto.OpReady})
		rcn.close()
		if err != nil {
			return err
		}
		if resp.Value != 1 {
			return fmt.Errorf("%s: not every shard has a leader", n.name)
		}
	}
	return nil
}

// Close stops the nodes.
func (rc *RawCluster) Close() {
	var wg sync.WaitGroup
	for _, n := range rc.nodes {
		wg.Go(func() { n.p.Stop(10 * time.Second) })
	}
	wg.Wait()
}

// pids returns the nodes' process ids by name.
func (rc *RawCluster) pids() map[string]int {
	out := make(map[string]int)
	for _, n := range rc.nodes {
		out[n.name] = n.p.Pid()
	}
	return out
}

// rss reads every node's memory.
func (rc *RawCluster) rss() (map[string]RSS, error) {
	out := make(map[string]RSS)
	for _, n := range rc.nodes {
		r, err := readRSS(n.p.Pid())
		if err != nil {
			return nil, err
		}
		out[n.name] = r
	}
	return out, nil
}

// rawConn is one load connection to a raw node.
type rawConn struct {
	c   net.Conn
	r   *bufio.Reader
	out []byte
	in  []byte
}

func dialRaw(ctx context.Context, addr string) (*rawConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("raw: dial: %w", err)
	}
	return &rawConn{c: c, r: bufio.NewReader(c)}, nil
}

// call sends one request and reads its response.
func (rc *rawConn) call(req rawproto.Request) (rawproto.Response, error) {
	rc.out = rawproto.AppendRequest(rc.out[:0], req)
	if _, err := rc.c.Write(rc.out); err != nil {
		return rawproto.Response{}, fmt.Errorf("raw: %w", err)
	}
	resp, err := rawproto.ReadResponse(rc.r, rc.in)
	if err != nil {
		return rawproto.Response{}, fmt.Errorf("raw: %w", err)
	}
	if resp.Status != rawproto.StatusOK {
		return resp, fmt.Errorf("raw: %s", resp.Err)
	}
	return resp, nil
}

func (rc *rawConn) close() { rc.c.Close() }

// RunRawThroughput measures the raw peer under the same load as Parley's
// throughput: p.Senders connections, connection w to node w mod 3, each
// proposing a p.Payload-byte entry and waiting for its commit before the
// next. Room r's entries go to shardOf(room r), the shard Parley's ring
// gives the same room, so the load spreads over shards the same way.
func RunRawThroughput(ctx context.Context, rc *RawCluster, p ThroughputParams, shardOf func(room string) uint64) (ThroughputResult, error) {
	res := ThroughputResult{System: "raw-dragonboat", Params: p, DurationS: p.Duration.Seconds()}
	conns := make([]*rawConn, p.Senders)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.close()
			}
		}
	}()
	for w := range conns {
		c, err := dialRaw(ctx, rc.nodes[w%len(rc.nodes)].rpc)
		if err != nil {
			return res, err
		}
		conns[w] = c
	}
	shards := make([]uint64, p.Rooms)
	distinct := make(map[uint64]bool)
	for r := range shards {
		shards[r] = shardOf(roomName("tp", r))
		distinct[shards[r]] = true
	}
	body := []byte(payload(p.Payload))
	for _, n := range rc.nodes {
		if err := resetPeakRSS(n.p.Pid()); err != nil {
			return res, err
		}
	}
	out := runClosedLoop(ctx, p.Senders, p.Rooms, p.Warmup, p.Duration, rc.pids(), func(ctx context.Context, w, r int) error {
		_, err := conns[w].call(rawproto.Request{Op: rawproto.OpPropose, Shard: shards[r], Payload: body})
		return err
	})
	res.CPU, res.Host = out.cpu, out.host
	res.MsgPerSec, res.Acked, res.Errors, res.Ack = round3(out.msgPerSec()), out.acked, out.errors, out.lat.Summary()
	var err error
	if res.RSS, err = rc.rss(); err != nil {
		return res, err
	}
	tls := "mutual TLS"
	if rc.opts.NoTLS {
		tls = "NO TLS"
	}
	res.Note = fmt.Sprintf("%s profile, %d shards, rooms on %d of them, %s, in-memory counter SM", rc.opts.Profile, len(rc.opts.Shards), len(distinct), tls)
	return res, ctx.Err()
}
