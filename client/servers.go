package client

import (
	"fmt"
	"net"
	"strings"
)

// mergeServers returns list with the addresses of add appended, in order,
// trimmed, without empty ones and without duplicates.
func mergeServers(list, add []string) []string {
	seen := make(map[string]bool, len(list)+len(add))
	for _, a := range list {
		seen[a] = true
	}
	for _, a := range add {
		a = strings.TrimSpace(a)
		if a == "" || seen[a] {
			continue
		}
		seen[a] = true
		list = append(list, a)
	}
	return list
}

// checkServer reports whether a is a "host:port" address.
func checkServer(a string) error {
	host, port, err := net.SplitHostPort(strings.TrimSpace(a))
	if err != nil {
		return fmt.Errorf("server %q: %w", a, err)
	}
	if host == "" || port == "" {
		return fmt.Errorf("server %q: want host:port", a)
	}
	return nil
}

// advertisedAddrs returns the addresses of a welcome's nodes that a client
// can dial: "host:port" with a host other than an unspecified IP (0.0.0.0
// or ::), which a node might advertise by mistake.
func advertisedAddrs(addrs []string) []string {
	var out []string
	for _, a := range addrs {
		if checkServer(a) != nil {
			continue
		}
		host, _, _ := net.SplitHostPort(strings.TrimSpace(a))
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			continue
		}
		out = append(out, a)
	}
	return mergeServers(nil, out)
}

// nextServer advances to the next known address, round robin, and returns
// it.
func (c *Client) nextServer() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next = (c.next + 1) % len(c.servers)
	return c.servers[c.next]
}

// Servers returns every node address the client knows: its seeds and the
// nodes the cluster's welcome named.
func (c *Client) Servers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.servers...)
}
