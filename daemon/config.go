package daemon

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/discovery"
)

// Config configures a parleyd server.
type Config struct {
	// DataDir holds the node; an empty one is bootstrapped or joined.
	DataDir string
	// Name is the node's name (default: the host name).
	Name string
	// Listen is the QUIC (UDP) address for clients, default ":7400".
	Listen string
	// Raft is the TCP address for Raft between nodes, default ":7401". Its
	// port must not be 0.
	Raft string
	// HTTP is the address of the health endpoint, default ":7480"; "-"
	// turns it off.
	HTTP string
	// HTTPS, if set, is the address of the same web endpoints over TLS,
	// with the node's certificate (signed by the cluster CA, which
	// "parley ca" prints for a browser to trust).
	HTTPS string
	// Advertise is the host other nodes and clients use to reach this node
	// (default: the listen host if it is specific, else this machine's
	// first non-loopback IPv4 address, else 127.0.0.1). Raft (dragonboat)
	// takes no IPv6 literal: a node reached over IPv6 advertises a host name
	// that resolves to its IPv6 address.
	Advertise string
	// Join and Token make an empty node join the cluster at Join.
	Join, Token string
	// Shards is the number of room shards of a new cluster, 0 for the
	// profile's default (chatcore.Profile.DefaultShards).
	Shards int
	// Replicas is the number of voting replicas of each room shard of a
	// new cluster, 0 for the default (3).
	Replicas int
	// DeadAfter is how long a node of a new cluster may be unreachable
	// before its replicas are re-created elsewhere, 0 for the default.
	DeadAfter time.Duration
	// Profile is "small" or "default".
	Profile string
	// RequestsPerSecond bounds each connection's request rate (default 2000,
	// with bursts of twice that).
	RequestsPerSecond int
	// DNS, if set, is the address ("host:port", UDP and TCP) of the DNS
	// service answering for DNSDomain from the registry (see dns.go).
	DNS string
	// DNSDomain is the DNS service's zone, default DefaultDNSDomain.
	DNSDomain string
	// MDNS makes the node announce itself on the local network by mDNS
	// (_parley._udp.local, see package discovery). Off unless set: tests
	// and "parleyd dev" do not announce; parleyd's --mdns is on.
	MDNS bool
	// Logger receives the server's logs.
	Logger *slog.Logger
	// AnalyticsScanDelay slows every message an analytics map task reads;
	// tests use it to catch a job while it runs. Zero in production.
	AnalyticsScanDelay time.Duration
	// AnalyticsReduceDelay holds every analytics reduce task this long
	// before it finishes; tests use it to catch a node holding reduce
	// tasks. Zero in production.
	AnalyticsReduceDelay time.Duration
	// AnalyticsBackupAfter is the least time an analytics task runs
	// before a straggler gets a backup (default 1 s); tests raise it.
	AnalyticsBackupAfter time.Duration
	// AnalyticsMemBytes bounds about how much one analytics map task holds
	// before it spills to disk (default mapreduce.DefaultMemBytes).
	AnalyticsMemBytes int

	// ArgonProfile is the argon2id profile ("small" or "default") of a new
	// cluster's password hashes; used only at bootstrap, then kept in the
	// registry's cluster settings.
	ArgonProfile string
	// Quotas are a new cluster's limits on rooms and members; used only at
	// bootstrap, then kept in the registry (zero fields: the defaults).
	Quotas chatcore.Quotas
	// PasswordChecks bounds the argon2id hashes the node computes at once
	// (default chatcore.DefaultPasswordChecks).
	PasswordChecks int
	// MaxConns bounds the connections the node serves (default
	// DefaultMaxConns); MaxConnsPerAddr bounds those from one source IP
	// address (default DefaultMaxConnsPerAddr).
	MaxConns, MaxConnsPerAddr int
	// HelloTimeout bounds the time from a connection's handshake to its
	// hello (default 10 s); AnonIdleTimeout closes an anonymous session
	// (not a node of the cluster) that makes no request for that long
	// (default 45 s, longer than a request may run).
	HelloTimeout, AnonIdleTimeout time.Duration
	// MinFreeDisk is the free space in the data dir's file system below
	// which the node refuses writes and /healthz answers 503 (default
	// DefaultMinFreeDisk).
	MinFreeDisk uint64
}

func (c *Config) setDefaults() error {
	if c.DataDir == "" {
		return fmt.Errorf("config: --data is required: %w", parley.ErrInvalid)
	}
	if c.Listen == "" {
		c.Listen = ":7400"
	}
	if c.Raft == "" {
		c.Raft = ":7401"
	}
	if c.HTTP == "" {
		c.HTTP = ":7480"
	}
	if c.DNSDomain == "" {
		c.DNSDomain = DefaultDNSDomain
	}
	if c.RequestsPerSecond <= 0 {
		c.RequestsPerSecond = 2000
	}
	if _, err := chatcore.ParseArgonProfile(c.ArgonProfile); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if c.MinFreeDisk == 0 {
		c.MinFreeDisk = DefaultMinFreeDisk
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxConnsPerAddr <= 0 {
		c.MaxConnsPerAddr = DefaultMaxConnsPerAddr
	}
	if c.HelloTimeout <= 0 {
		c.HelloTimeout = 10 * time.Second
	}
	if c.AnonIdleTimeout <= 0 {
		c.AnonIdleTimeout = 45 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Name == "" {
		c.Name = chatcore.DefaultNodeName()
	}
	if (c.Join == "") != (c.Token == "") {
		return fmt.Errorf("config: --join and a join token (--token-file, $PARLEYD_TOKEN or --token) go together: %w", parley.ErrInvalid)
	}
	if c.Advertise == "" {
		c.Advertise = defaultAdvertise(c.Listen)
	}
	if c.DNS != "" && c.MDNS {
		if _, port, err := net.SplitHostPort(c.DNS); err == nil && port == strconv.Itoa(discovery.Port) {
			return fmt.Errorf("config: --dns %s: port %d is mDNS's, which the node uses to announce itself; give --dns another port (such as :5354), or turn mDNS off with --mdns=false: %w", c.DNS, discovery.Port, parley.ErrInvalid)
		}
	}
	if ip := net.ParseIP(c.Advertise); ip != nil && ip.To4() == nil {
		return fmt.Errorf("config: --advertise %s: Raft takes IPv4 addresses and host names only; advertise a host name that resolves to this address: %w", c.Advertise, parley.ErrInvalid)
	}
	return nil
}

// advertised returns host:port with the advertised host and listen's port.
func (c *Config) advertised(listen string) (string, error) {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("config: address %q: %w", listen, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return "", fmt.Errorf("config: address %q: bad port: %w", listen, parley.ErrInvalid)
	}
	return net.JoinHostPort(c.Advertise, port), nil
}

func defaultAdvertise(listen string) string {
	if host, _, err := net.SplitHostPort(listen); err == nil && host != "" {
		if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
			return host
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	return "127.0.0.1"
}
