package discovery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/mdns"
)

// Errors of choosing a cluster.
var (
	// ErrNoCluster means no Parley node answered on the local network.
	ErrNoCluster = errors.New("no Parley cluster answered mDNS on the local network")
	// ErrSeveralClusters means more than one unknown cluster answered.
	ErrSeveralClusters = errors.New("several Parley clusters answered mDNS")
)

// Node is one node seen by Browse.
type Node struct {
	Record
	// Addr is the node's client address, "ip:port" or "[ipv6]:port".
	Addr string
}

// Browse asks the local network for Parley nodes, over IPv4 and IPv6
// multicast where the host has them, and collects the answers for wait. A
// node announcing an IPv4 and an IPv6 address is seen once at each.
// Announcements whose TXT records do not parse are dropped.
func Browse(ctx context.Context, wait time.Duration) ([]Node, error) {
	entries := make(chan *mdns.ServiceEntry, 64)
	done := make(chan error, 1)
	go func() {
		done <- mdns.QueryContext(ctx, &mdns.QueryParam{
			Service: Service, Domain: "local", Timeout: wait, Entries: entries,
			Logger: log.New(io.Discard, "", 0),
		})
		close(entries)
	}()
	var nodes []Node
	seen := make(map[string]bool)
	for e := range entries {
		if e.Port <= 0 {
			continue
		}
		r, err := ParseTXT(e.InfoFields)
		if err != nil {
			continue
		}
		for _, ip := range entryIPs(e) {
			n := Node{Record: r, Addr: net.JoinHostPort(ip.String(), strconv.Itoa(e.Port))}
			if key := r.CA + " " + n.Addr; !seen[key] {
				seen[key] = true
				nodes = append(nodes, n)
			}
		}
	}
	if err := <-done; err != nil && ctx.Err() == nil {
		return nodes, fmt.Errorf("mdns: %w", err)
	}
	return nodes, nil
}

// Choose picks the cluster to use among the nodes seen: the one whose CA
// fingerprint is pinned (pinned reports whether a fingerprint is), else the
// only one seen. It returns that cluster's CA fingerprint and its nodes'
// addresses. With several unknown clusters the error wraps
// ErrSeveralClusters and lists them; with none, ErrNoCluster.
func Choose(nodes []Node, pinned func(fingerprint string) bool) (ca string, addrs []string, err error) {
	byCA := make(map[string][]Node)
	var cas []string
	for _, n := range nodes {
		if _, ok := byCA[n.CA]; !ok {
			cas = append(cas, n.CA)
		}
		byCA[n.CA] = append(byCA[n.CA], n)
	}
	sort.Strings(cas)
	var known []string
	for _, c := range cas {
		if pinned != nil && pinned(c) {
			known = append(known, c)
		}
	}
	switch {
	case len(known) == 1:
		ca = known[0]
	case len(cas) == 1:
		ca = cas[0]
	case len(cas) == 0:
		return "", nil, ErrNoCluster
	default:
		var b strings.Builder
		for _, c := range cas {
			ns := byCA[c]
			fmt.Fprintf(&b, "\n  cluster %s (CA %s…):", ns[0].ClusterID, c[:16])
			for _, n := range ns {
				fmt.Fprintf(&b, " %s=%s", n.Name, n.Addr)
			}
		}
		return "", nil, fmt.Errorf("%w; pass --server with one of their addresses:%s", ErrSeveralClusters, b.String())
	}
	for _, n := range byCA[ca] {
		addrs = append(addrs, n.Addr)
	}
	sort.Strings(addrs)
	return ca, addrs, nil
}

// entryIPs returns the addresses of an answer a client can dial: its IPv4
// and its IPv6 address, if announceable (a link-local one would need an
// interface name, and Parley nodes do not announce them).
func entryIPs(e *mdns.ServiceEntry) []net.IP {
	var ips []net.IP
	if e.AddrV4 != nil && announceable(e.AddrV4) {
		ips = append(ips, e.AddrV4)
	}
	if e.AddrV6IPAddr != nil && announceable(e.AddrV6IPAddr.IP) {
		ips = append(ips, e.AddrV6IPAddr.IP)
	}
	return ips
}
