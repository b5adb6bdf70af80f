package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/daemon"
	"github.com/parleychat/parley/discovery"
	"github.com/parleychat/parley/internal/conffile"
)

// runNode runs one node until SIGINT or SIGTERM.
func runNode(args []string) error {
	fs := flag.NewFlagSet("parleyd", flag.ContinueOnError)
	var cfg daemon.Config
	var logLevel, logFormat, configFile, tokenFile string
	fs.StringVar(&configFile, "config", "", "read settings from this `FILE`: one \"key = value\" per line, the keys being these flags' names (flags given here win)")
	fs.StringVar(&cfg.DataDir, "data", "", "data directory (required)")
	fs.StringVar(&cfg.Listen, "listen", ":7400", "QUIC (UDP) address for clients")
	fs.StringVar(&cfg.Raft, "raft", ":7401", "TCP address for Raft between nodes")
	fs.StringVar(&cfg.HTTP, "http", ":7480", `HTTP address of the web client, /healthz, /readyz, /livez and /metrics ("-" for none)`)
	fs.StringVar(&cfg.HTTPS, "https", "", "HTTPS address of the web client, with the node's certificate (trust \"parley ca\" in the browser)")
	fs.StringVar(&cfg.Advertise, "advertise", "", "host other nodes and clients reach this node at: an IPv4 address or a host name (default: first non-loopback IPv4)")
	fs.StringVar(&cfg.Join, "join", "", "client address of a node of the cluster to join, or \"auto\" to find the token's cluster by mDNS")
	fs.StringVar(&cfg.Token, "token", "", "join token (from <data>/join-token of the first node); visible in ps: prefer --token-file or $"+tokenEnv)
	fs.StringVar(&tokenFile, "token-file", "", "file holding the join token (default: $"+tokenEnv+")")
	fs.IntVar(&cfg.Shards, "shards", 0, "number of room shards of a new cluster (default 16, or 8 with --profile small)")
	fs.IntVar(&cfg.Replicas, "replicas", 0, "voting replicas per room shard of a new cluster: odd, 1 to 7 (default 3)")
	fs.DurationVar(&cfg.DeadAfter, "dead-after", 0, "how long a node of a new cluster may be unreachable before its replicas are re-created elsewhere (default 5m; change later with parley admin set dead-after)")
	fs.StringVar(&cfg.Profile, "profile", "default", "memory profile of a new node: small or default")
	fs.StringVar(&cfg.Name, "name", "", "node name (default: host name)")
	fs.StringVar(&cfg.DNS, "dns", "", "serve DNS for --dns-domain on this address, UDP and TCP (e.g. :53; default off)")
	fs.StringVar(&cfg.DNSDomain, "dns-domain", daemon.DefaultDNSDomain, "zone of the DNS service: SRV "+daemon.ServiceLabel+".ZONE, A/AAAA NODE-NAME.ZONE")
	minFreeMiB := fs.Uint64("min-free-disk", daemon.DefaultMinFreeDisk>>20, "MiB of free disk below which the node refuses writes and /healthz answers 503")
	fs.BoolVar(&cfg.MDNS, "mdns", true, "announce this node on the local network by mDNS ("+discovery.Service+".local), so clients and --join auto find it without an address")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&logFormat, "log-format", "text", "text or json (one JSON object per line)")
	fs.Usage = func() { printUsage(fs) }
	fs.DurationVar(&cfg.AnalyticsScanDelay, "analytics-scan-delay", 0, "for tests: slow analytics map tasks down by this much per message")
	fs.DurationVar(&cfg.AnalyticsReduceDelay, "analytics-reduce-delay", 0, "for tests: hold every analytics reduce task this long before it finishes")
	fs.StringVar(&cfg.ArgonProfile, "argon-profile", "default", "argon2id profile of a new cluster's password hashes: small (7 MiB, 5 passes) or default (19 MiB, 2 passes); kept in the registry")
	fs.IntVar(&cfg.Quotas.MaxRooms, "quota-rooms", chatcore.DefaultMaxRooms, "rooms a new cluster may hold; kept in the registry")
	fs.IntVar(&cfg.Quotas.RoomsPerHour, "quota-rooms-per-hour", chatcore.DefaultRoomsPerHour, "rooms one account may create in an hour, in a new cluster; kept in the registry")
	fs.IntVar(&cfg.Quotas.MaxMembers, "quota-members", chatcore.DefaultMaxMembers, "members one room may have, in a new cluster; kept in the registry")
	fs.IntVar(&cfg.PasswordChecks, "password-checks", 2, "password hashes this node computes at once")
	fs.IntVar(&cfg.MaxConns, "max-conns", daemon.DefaultMaxConns, "connections this node serves at once")
	fs.IntVar(&cfg.MaxConnsPerAddr, "max-conns-per-addr", daemon.DefaultMaxConnsPerAddr, "connections this node serves from one IP address")
	fs.DurationVar(&cfg.HelloTimeout, "hello-timeout", 10*time.Second, "time a new connection has to send its hello")
	fs.DurationVar(&cfg.AnonIdleTimeout, "anon-idle-timeout", 45*time.Second, "idle time after which a session that did not log in is closed")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if configFile != "" {
		file, err := conffile.Load(configFile)
		if err != nil {
			return usageError{err}
		}
		if err := file.ApplyFlags(fs, "config"); err != nil {
			return usageError{err}
		}
	}
	if cfg.DataDir == "" {
		return usageError{fmt.Errorf("--data is required")}
	}
	logger, err := newLogger(os.Stderr, logFormat, logLevel)
	if err != nil {
		return usageError{err}
	}
	cfg.MinFreeDisk = *minFreeMiB << 20
	cfg.Logger = logger
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
		if cfg.Join == "auto" {
			if cfg.Join, err = findJoin(token); err != nil {
				return err
			}
			cfg.Logger.Info("found the cluster by mDNS", "join", cfg.Join)
		}
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

// printUsage lists the subcommands and the node's flags.
func printUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprint(w, `parleyd runs a node of a Parley cluster.

Usage:

	parleyd [flags]          run a node (--data is required)
	parleyd dev [flags]      run a local cluster of several nodes, one process each ('parleyd dev -h')
	parleyd version          print the version, commit, Go version and apply rules version
	parleyd help             print this

Flags of a node (or put them in a --config file, one "key = value" per line):

`)
	fs.PrintDefaults()
}
