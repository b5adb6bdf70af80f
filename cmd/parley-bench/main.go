// Command parley-bench runs Parley's benchmark suite: real 3-node clusters
// as separate processes on 127.0.0.1, side by side with raw dragonboat and
// NATS JetStream on the same machine with the same load. It prints a table
// and, with --out, writes the same results as JSON.
//
//	parley-bench [--quick] [--out FILE] [flags]         every scenario
//	parley-bench SCENARIO [flags]                       one scenario
//
// Scenarios: throughput (with its peers unless --peers none), raw,
// jetstream, latency (with its JetStream peer unless --peer=false), fanout, failover, reconnect, rebalance, analytics, memory. "parley-bench
// SCENARIO --help" lists a scenario's flags. The binaries it starts
// (parleyd, parley-rawnode, parley-natspeer) are looked for next to
// parley-bench, or in --bin; "make bench" builds them all.
//
// The exit status is 1 if a scenario could not run or the failover
// scenario lost or duplicated an acknowledged message; never for a speed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/parleychat/parley/bench"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "parley-bench: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	scenario := "all"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		scenario, args = args[0], args[1:]
	}
	if scenario != "all" && !slices.Contains(bench.AllScenarios, scenario) {
		return fmt.Errorf("unknown scenario %q (want one of %v)", scenario, bench.AllScenarios)
	}
	o := bench.DefaultOptions(wantsQuick(args))
	fs := flag.NewFlagSet("parley-bench "+scenario, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: parley-bench [SCENARIO] [flags]\n\nScenarios (default: all of them, in this order): %s.\n"+
			"\"parley-bench SCENARIO -h\" lists that scenario's flags.\n\nFlags of %s:\n",
			strings.Join(bench.AllScenarios, ", "), fs.Name())
		fs.PrintDefaults()
	}
	c := addCommonFlags(fs, &o)
	scenarios := addScenarioFlags(fs, scenario, &o)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if o.BinDir == "" {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bin dir: %w", err)
		}
		o.BinDir = filepath.Dir(self)
	}
	if err := checkBinaries(o.BinDir, scenarios(), o.LatencyPeer); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, o, scenarios())
	if rep == nil {
		return err
	}
	if werr := rep.WriteTable(os.Stdout); werr != nil {
		return werr
	}
	if c.out != "" {
		if werr := writeJSON(c.out, rep); werr != nil {
			return werr
		}
	}
	if err != nil {
		return err
	}
	return rep.Check()
}

// wantsQuick reports whether args ask for a quick run, which changes the
// other flags' defaults.
func wantsQuick(args []string) bool {
	for _, a := range args {
		switch a {
		case "--quick", "-quick", "--quick=true", "-quick=true":
			return true
		}
	}
	return false
}

// checkBinaries makes sure the binaries the scenarios start are there
// (all of them if scenarios is empty); latencyPeer: the latency scenario
// starts JetStream too.
func checkBinaries(dir string, scenarios []string, latencyPeer bool) error {
	if len(scenarios) == 0 {
		scenarios = bench.AllScenarios
	}
	need := map[string]bool{}
	for _, s := range scenarios {
		switch s {
		case bench.ScenarioLatency:
			need["parleyd"] = true
			need["parley-natspeer"] = need["parley-natspeer"] || latencyPeer
		case bench.ScenarioRaw:
			need["parley-rawnode"] = true
		case bench.ScenarioJetStream:
			need["parley-natspeer"] = true
		default:
			need["parleyd"] = true
		}
	}
	for name := range need {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("binary %s not in %s (run \"make bench-build\", or pass --bin): %w", name, dir, err)
		}
	}
	return nil
}

// writeJSON writes the report to path.
func writeJSON(path string, rep *bench.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("out: %w", err)
	}
	if err := rep.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("out: %w", err)
	}
	return nil
}
