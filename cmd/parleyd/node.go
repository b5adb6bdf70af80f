package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/daemon"
)

// runNode runs one node until SIGINT or SIGTERM.
func runNode(args []string) error {
	fs := flag.NewFlagSet("parleyd", flag.ContinueOnError)
	var cfg daemon.Config
	var logLevel, tokenFile string
	fs.StringVar(&cfg.DataDir, "data", "", "data directory (required)")
	fs.StringVar(&cfg.Listen, "listen", ":7400", "QUIC (UDP) address for clients")
	fs.StringVar(&cfg.Raft, "raft", ":7401", "TCP address for Raft between nodes")
	fs.StringVar(&cfg.HTTP, "http", ":7480", `HTTP address of the web client and /healthz ("-" for none)`)
	fs.StringVar(&cfg.HTTPS, "https", "", "HTTPS address of the web client, with the node's certificate (trust \"parley ca\" in the browser)")
	fs.StringVar(&cfg.Advertise, "advertise", "", "host other nodes and clients reach this node at (default: first non-loopback IPv4)")
	fs.StringVar(&cfg.Join, "join", "", "client address of a node of the cluster to join")
	fs.StringVar(&cfg.Token, "token", "", "join token (from <data>/join-token of the first node); visible in ps: prefer --token-file or $"+tokenEnv)
	fs.StringVar(&tokenFile, "token-file", "", "file holding the join token (default: $"+tokenEnv+")")
	fs.IntVar(&cfg.Shards, "shards", 0, "number of room shards of a new cluster (default 16, or 8 with --profile small)")
	fs.IntVar(&cfg.Replicas, "replicas", 0, "voting replicas per room shard of a new cluster: odd, 1 to 7 (default 3)")
	fs.DurationVar(&cfg.DeadAfter, "dead-after", 0, "how long a node of a new cluster may be unreachable before its replicas are re-created elsewhere (default 5m; change later with parley admin set dead-after)")
	fs.StringVar(&cfg.Profile, "profile", "default", "memory profile of a new node: small or default")
	fs.StringVar(&cfg.Name, "name", "", "node name (default: host name)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if cfg.DataDir == "" {
		return usageError{fmt.Errorf("--data is required")}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return usageError{fmt.Errorf("--log-level: %w", err)}
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	switch {
	case chatcore.HasIdentity(cfg.DataDir):
		// A restart, perhaps with the flags of the first start: the token
		// (or its file) may be gone by now, and is not needed.
		if cfg.Join != "" {
			cfg.Logger.Info("data dir already holds a node; ignoring --join and the token", "data", cfg.DataDir)
		}
		cfg.Join, cfg.Token = "", ""
	case cfg.Join != "":
		token, err := joinToken(cfg.Token, tokenFile)
		if err != nil {
			return err
		}
		cfg.Token = token
	case cfg.Token != "" || tokenFile != "":
		return usageError{fmt.Errorf("--token and --token-file go with --join")}
	}
	if err := applySavedSettings(fs, &cfg); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	srv, err := daemon.Start(startCtx, cfg)
	cancel()
	if err != nil {
		return err
	}
	if err := saveSettings(cfg, srv.Advertise()); err != nil {
		srv.Close()
		return err
	}
	select {
	case <-ctx.Done():
	case <-srv.Removed():
		cfg.Logger.Error("this node was removed from the cluster by an admin (parley admin remove-node); stopping. Its data dir cannot rejoin: start an empty one with --join to add this machine again")
		srv.Close()
		return chatcore.ErrRemoved
	}
	cfg.Logger.Info("stopping")
	return srv.Close()
}
