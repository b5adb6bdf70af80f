// Command parley-rawnode is the raw dragonboat peer of Parley's benchmark:
// one dragonboat NodeHost with Parley's own LogDB, engine and Raft settings
// (chatcore.Profile, chatcore.RTTMillisecond, chatcore.ShardConfig) and
// mutual TLS, hosting a number of shards with a trivial in-memory state
// machine. It serves proposals over a tiny TCP RPC (package
// bench/rawproto), so the benchmark's load reaches it the way a client's
// load reaches a Parley node: a request per message, proposed by the node
// that received it (and forwarded by dragonboat to the shard's leader).
//
//	parley-rawnode --id N --raft ADDR --peers 1=ADDR,2=ADDR,3=ADDR --rpc ADDR
//	               --data DIR --shards LIST --profile small|default
//	               [--tls-dir DIR | --no-tls]
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/internal/rafttcp"
	"github.com/parleychat/parley/internal/softsettings"
)

func main() {
	// Parley's dragonboat soft settings too, as parleyd has them.
	if err := softsettings.Apply(); err != nil {
		fmt.Fprintf(os.Stderr, "parley-rawnode: %v\n", err)
		os.Exit(1)
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "parley-rawnode: %v\n", err)
		os.Exit(1)
	}
}

// deploymentID keeps the peer's Raft traffic apart from any other.
const deploymentID = 0x5ea1

func run(args []string) error {
	fs := flag.NewFlagSet("parley-rawnode", flag.ContinueOnError)
	id := fs.Uint64("id", 0, "replica id of this node (1, 2, 3...)")
	raftAddr := fs.String("raft", "", "Raft address of this node")
	peers := fs.String("peers", "", "every node: id=raftaddr,...")
	rpcAddr := fs.String("rpc", "", "TCP address for proposals")
	data := fs.String("data", "", "data directory")
	shardList := fs.String("shards", "2", "shard ids, comma-separated")
	profileName := fs.String("profile", "default", "Parley memory profile: small or default")
	tlsDir := fs.String("tls-dir", "", "directory with ca.pem, node.pem and node-key.pem for mutual TLS")
	noTLS := fs.Bool("no-tls", false, "plain TCP between nodes (Parley always uses mutual TLS)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == 0 || *raftAddr == "" || *rpcAddr == "" || *data == "" {
		return fmt.Errorf("flags: --id, --raft, --rpc and --data are required")
	}
	if *tlsDir == "" && !*noTLS {
		return fmt.Errorf("flags: --tls-dir or --no-tls is required")
	}
	members, err := parsePeers(*peers)
	if err != nil {
		return err
	}
	shards, err := parseShards(*shardList)
	if err != nil {
		return err
	}
	profile, err := chatcore.ParseProfile(*profileName)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	installLogger(log)

	nhc := config.NodeHostConfig{
		DeploymentID:   deploymentID,
		NodeHostDir:    filepath.Join(*data, "raft"),
		WALDir:         filepath.Join(*data, "raft"),
		RTTMillisecond: chatcore.RTTMillisecond,
		RaftAddress:    *raftAddr,
		Expert: config.ExpertConfig{
			LogDB:  profile.LogDBConfig(),
			Engine: profile.EngineConfig(),
			// Parley's transport, so that the peer differs from Parley
			// in what Parley adds to Raft, not in how messages travel.
			TransportFactory: rafttcp.Factory{Logger: log},
		},
	}
	if !*noTLS {
		nhc.MutualTLS = true
		nhc.CAFile = filepath.Join(*tlsDir, "ca.pem")
		nhc.CertFile = filepath.Join(*tlsDir, "node.pem")
		nhc.KeyFile = filepath.Join(*tlsDir, "node-key.pem")
	}
	nh, err := dragonboat.NewNodeHost(nhc)
	if err != nil {
		return fmt.Errorf("nodehost: %w", err)
	}
	defer nh.Close()
	for _, s := range shards {
		if err := nh.StartReplica(members, false, newCounter, chatcore.ShardConfig(s, *id, false)); err != nil {
			return fmt.Errorf("shard %d: %w", s, err)
		}
	}
	l, err := net.Listen("tcp", *rpcAddr)
	if err != nil {
		return fmt.Errorf("rpc: %w", err)
	}
	srv := &server{nh: nh, shards: shards, log: log}
	go srv.serve(l)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	l.Close()
	return nil
}

// parsePeers parses "1=addr,2=addr".
func parsePeers(s string) (map[uint64]string, error) {
	out := make(map[uint64]string)
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		id, err := strconv.ParseUint(k, 10, 64)
		if !ok || err != nil || id == 0 || v == "" {
			return nil, fmt.Errorf("flags: --peers: bad entry %q", part)
		}
		out[id] = v
	}
	return out, nil
}

// parseShards parses "2,3,4".
func parseShards(s string) ([]uint64, error) {
	var out []uint64
	for part := range strings.SplitSeq(s, ",") {
		id, err := strconv.ParseUint(part, 10, 64)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("flags: --shards: bad shard %q", part)
		}
		out = append(out, id)
	}
	return out, nil
}
