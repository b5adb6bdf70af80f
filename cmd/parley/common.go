package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/parleychat/parley/client"
	"golang.org/x/term"
)

// Defaults of the common flags.
const (
	defaultServer  = "127.0.0.1:7400"
	defaultTimeout = 15 * time.Second
	// connectTimeout bounds the QUIC handshake with each address.
	connectTimeout = 2 * time.Second
)

// Environment variables the commands read.
const (
	envServer   = "PARLEY_SERVER"
	envUser     = "PARLEY_USER"
	envPassword = "PARLEY_PASSWORD"
	// envInvite is the invite code a new account signs up with (--invite).
	envInvite = "PARLEY_INVITE"
	// envLog sets the SDK's log level on stderr: debug, info, warn or
	// error (the default).
	envLog = "PARLEY_LOG"
)

// common holds the flags every command takes.
type common struct {
	server  string
	user    string
	ca      string
	json    bool
	timeout time.Duration
	// timeoutSet is set when --timeout was given.
	timeoutSet bool
	// invite is the invite code of a sign-up (--invite).
	invite string
}

// flagSet is a command's flags: the common ones and its own.
type flagSet struct {
	*flag.FlagSet
	synopsis string
	common   common
	// args are the positional arguments, in order, once parsed.
	args []string
}

// newFlagSet makes a command's flag set with the common flags. synopsis is
// the command's usage line. Parse errors and -h are reported by parse, not
// by the flag package.
func newFlagSet(name, synopsis string) *flagSet {
	f := &flagSet{FlagSet: flag.NewFlagSet("parley "+name, flag.ContinueOnError), synopsis: synopsis}
	f.SetOutput(io.Discard)
	f.Usage = func() {}
	co := &f.common
	f.StringVar(&co.server, "server", "", "cluster node `addresses`, comma-separated, or dns:ZONE[@DNS-SERVER] for its SRV records (env "+envServer+"; default: the cluster found by mDNS, else "+defaultServer+")")
	f.StringVar(&co.user, "user", "", "user `name` (env "+envUser+"; required)")
	f.StringVar(&co.ca, "ca", "", "pin the cluster CA in this PEM `file` instead of known_clusters")
	f.BoolVar(&co.json, "json", false, "print JSON lines")
	f.DurationVar(&co.timeout, "timeout", defaultTimeout, "bound the connection and each operation")
	f.StringVar(&co.invite, "invite", "", "invite `code` to sign up with, when the cluster's sign-up is by invite (env "+envInvite+")")
	return f
}

// parse parses args: flags may come before, between or after the
// positional arguments, and "--" ends the flags (what follows is
// positional even if it starts with a dash). -h prints the command's help
// on stdout and returns errHelp; a bad flag returns a usageError.
func (f *flagSet) parse(e *env, args []string) error {
	err := f.parseInterleaved(args)
	switch {
	case err == nil:
		f.Visit(func(fl *flag.Flag) { f.common.timeoutSet = f.common.timeoutSet || fl.Name == "timeout" })
		return nil
	case errors.Is(err, flag.ErrHelp):
		f.printHelp(e.stdout)
		return errHelp
	default:
		return &usageError{msg: err.Error()}
	}
}

// parseInterleaved parses flags wherever they are, collecting positional
// arguments in f.args.
func (f *flagSet) parseInterleaved(args []string) error {
	f.args = nil
	for {
		if err := f.Parse(args); err != nil {
			return err
		}
		rest := f.FlagSet.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" && !f.isFlagValue(args[:used]) {
			f.args = append(f.args, rest...)
			return nil
		}
		if len(rest) == 0 {
			return nil
		}
		f.args = append(f.args, rest[0])
		args = rest[1:]
	}
}

// isFlagValue reports whether the last of the parsed args is the value of
// a flag ("--user --"), not the "--" that ends the flags.
func (f *flagSet) isFlagValue(parsed []string) bool {
	if len(parsed) < 2 {
		return false
	}
	name := strings.TrimLeft(parsed[len(parsed)-2], "-")
	if !strings.HasPrefix(parsed[len(parsed)-2], "-") || strings.Contains(name, "=") {
		return false
	}
	fl := f.Lookup(name)
	if fl == nil {
		return false
	}
	b, ok := fl.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

// Args returns the positional arguments.
func (f *flagSet) Args() []string { return f.args }

// NArg returns the number of positional arguments.
func (f *flagSet) NArg() int { return len(f.args) }

// Arg returns positional argument i, or "".
func (f *flagSet) Arg(i int) string {
	if i < 0 || i >= len(f.args) {
		return ""
	}
	return f.args[i]
}

func (f *flagSet) printHelp(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\nFlags (before or after the arguments; -- ends them):\n", f.synopsis)
	f.SetOutput(w)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
}

// settings are the common flags resolved against the environment.
type settings struct {
	servers  []string
	user     string
	password string
	invite   string
	ca       string
	json     bool
	timeout  time.Duration
	// discover is set when no address was given: the cluster is found by
	// mDNS (see discover.go), servers holding the fallback.
	discover bool
}

// resolve applies the environment and defaults to the flags and gets the
// password. A flag wins over its environment variable.
func (co *common) resolve(e *env) (settings, error) {
	conf, err := e.config()
	if err != nil {
		return settings{}, err
	}
	s := settings{ca: co.ca, json: co.json, timeout: co.timeout}
	if s.ca == "" {
		s.ca = conf.ca
	}
	if !co.timeoutSet && conf.timeout > 0 {
		s.timeout = conf.timeout
	}
	server := co.server
	if server == "" {
		server = e.getenv(envServer)
	}
	if server == "" {
		server = conf.server
	}
	if server == "" {
		server = defaultServer
		s.discover = true
	}
	for _, a := range strings.Split(server, ",") {
		if a = strings.TrimSpace(a); a != "" {
			s.servers = append(s.servers, a)
		}
	}
	if len(s.servers) == 0 {
		return s, usagef("--server: no address")
	}
	if s.timeout <= 0 {
		return s, usagef("--timeout must be positive")
	}
	s.user = co.user
	if s.user == "" {
		s.user = e.getenv(envUser)
	}
	if s.user == "" {
		s.user = conf.user
	}
	if s.user == "" {
		return s, usagef("no user: pass --user NAME, set %s or put user = NAME in the config file", envUser)
	}
	s.invite = co.invite
	if s.invite == "" {
		s.invite = e.getenv(envInvite)
	}
	s.password = e.getenv(envPassword)
	if s.password == "" {
		p, err := e.askPassword(s.user)
		if err != nil {
			return s, fmt.Errorf("password: %w", err)
		}
		s.password = p
	}
	return s, nil
}

// dial resolves the settings and connects, within the timeout.
func (co *common) dial(ctx context.Context, e *env, onState func(client.State)) (*client.Client, settings, error) {
	s, err := co.resolve(e)
	if err != nil {
		return nil, s, err
	}
	dctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var found discovered
	if s.discover {
		if found, err = discover(dctx, s.ca); err != nil {
			return nil, s, err
		}
		s.servers = found.addrs
	}
	if s.servers, err = client.ResolveServers(dctx, s.servers); err != nil {
		return nil, s, err
	}
	c, err := client.Dial(dctx, client.Options{
		Servers:  s.servers,
		User:     s.user,
		Password: s.password,
		Invite:   s.invite,
		CAFile:   s.ca,
		Logger:   newLogger(e),
		OnState:  onState,
		// A node answers a QUIC handshake in milliseconds, even a busy
		// one: an address that stays silent this long has no node, and
		// the user hears so now rather than at the end of --timeout.
		ConnectTimeout: connectTimeout,
	})
	if err != nil {
		return nil, s, err
	}
	if err := found.remember(c.Servers()); err != nil {
		newLogger(e).Warn("remembering the cluster's nodes", "err", err)
	}
	return c, s, nil
}

// newLogger logs the SDK's diagnostics on stderr at the level PARLEY_LOG
// names (error by default: the commands report what matters themselves).
func newLogger(e *env) *slog.Logger {
	level := slog.LevelError
	if v := e.getenv(envLog); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			level = slog.LevelError
		}
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
}

// errNoTerminal is returned when the password is neither in the environment
// nor can be asked for.
var errNoTerminal = errors.New("no terminal to ask for it on: set " + envPassword)

// askPassword asks for user's password on the controlling terminal, without
// echo, so that stdin stays free for messages.
func askPassword(user string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", errNoTerminal
	}
	defer tty.Close()
	fd := int(tty.Fd())
	if !term.IsTerminal(fd) {
		return "", errNoTerminal
	}
	fmt.Fprintf(tty, "Password for %s: ", user)
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(tty)
	if err != nil {
		return "", fmt.Errorf("terminal: %w", err)
	}
	return string(p), nil
}

// operation returns a context bounded by the timeout for one operation.
func (s settings) operation(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}
