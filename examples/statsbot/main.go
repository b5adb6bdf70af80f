// Command statsbot is an example Parley bot built on the Go SDK. It joins a
// room and answers "!stats" with what it has seen since it started: how
// many messages, from how many users, and its uptime.
//
// Usage:
//
//	PARLEY_PASSWORD=secret statsbot --server 127.0.0.1:7400 --room general
//
// It relies on the SDK to survive the loss of nodes: when the node it is
// connected to dies, the Client reconnects to another one, its
// subscription resumes after the last message it delivered, and a reply in
// flight is retried with the same message id, so every "!stats" gets
// exactly one answer. SIGINT or SIGTERM stops it cleanly, with status 0.
//
// For each acknowledged answer it prints "replied ROOM#SEQ ID" on stdout;
// "ready ROOM" once it is following the room. Diagnostics go to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/parleychat/parley/client"
)

// replyTimeout bounds one answer, retries across failovers included.
const replyTimeout = 2 * time.Minute

// config is the bot's settings.
type config struct {
	servers  []string
	user     string
	password string
	room     string
	ca       string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "statsbot: %v\n", err)
		os.Exit(2)
	}
	if err := run(ctx, cfg, os.Stdout, log); err != nil {
		log.Error("statsbot stopped", "err", err)
		os.Exit(1)
	}
	log.Info("statsbot stopped")
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("statsbot", flag.ContinueOnError)
	server := fs.String("server", envOr("PARLEY_SERVER", "127.0.0.1:7400"), "cluster node `addresses`, comma-separated")
	user := fs.String("user", envOr("PARLEY_USER", "statsbot"), "the bot's user `name`")
	room := fs.String("room", "general", "the `room` to answer in")
	ca := fs.String("ca", "", "pin the cluster CA in this PEM `file` instead of known_clusters")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	cfg := config{user: *user, room: *room, ca: *ca, password: os.Getenv("PARLEY_PASSWORD")}
	for _, a := range strings.Split(*server, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.servers = append(cfg.servers, a)
		}
	}
	if cfg.password == "" {
		return cfg, errors.New("set PARLEY_PASSWORD to the bot's password")
	}
	return cfg, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// run connects, joins the room and answers "!stats" until ctx ends (a nil
// error) or the subscription fails for good.
func run(ctx context.Context, cfg config, out io.Writer, log *slog.Logger) error {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	c, err := client.Dial(dctx, client.Options{
		Servers:  cfg.servers,
		User:     cfg.user,
		Password: cfg.password,
		CAFile:   cfg.ca,
		Logger:   log,
		OnState:  func(s client.State) { log.Info("connection " + s.String()) },
	})
	cancel()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Join(ctx, cfg.room); err != nil {
		return interrupted(ctx, err)
	}
	// From now on: everything committed after the subscription starts.
	sub, err := c.Subscribe(ctx, cfg.room, 0)
	if err != nil {
		return interrupted(ctx, err)
	}
	defer sub.Close()
	fmt.Fprintf(out, "ready %s\n", cfg.room)
	st := newStats(c.User(), time.Now())
	for m := range sub.C() {
		if !st.observe(m) {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, replyTimeout)
		r, err := c.Send(rctx, cfg.room, st.answer(time.Now()))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			log.Warn("answer not sent", "to", m.User, "seq", m.Seq, "err", err)
			continue
		}
		fmt.Fprintf(out, "replied %s#%d %s\n", r.Room, r.Seq, r.ID)
	}
	return interrupted(ctx, sub.Err())
}

// interrupted turns an error caused by the interrupt into a clean stop.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
