package client

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ServiceName and ServiceProto name the DNS SRV records of a Parley
// cluster: _parley._udp.<zone>, one per node's client (QUIC) port, as a
// node's DNS service (parleyd --dns) or a LAN's DNS server publishes them.
const (
	ServiceName  = "parley"
	ServiceProto = "udp"
)

// ResolveServers expands every "dns:ZONE" or "dns:ZONE@HOST:PORT" in
// servers into the addresses its SRV records name (asking the system's
// resolver, or the DNS server at HOST:PORT), and keeps the other entries as
// they are.
func ResolveServers(ctx context.Context, servers []string) ([]string, error) {
	var out []string
	for _, s := range servers {
		spec, ok := strings.CutPrefix(s, "dns:")
		if !ok {
			out = append(out, s)
			continue
		}
		addrs, err := lookupSRV(ctx, spec)
		if err != nil {
			return nil, fmt.Errorf("server %s: %w", s, err)
		}
		out = append(out, addrs...)
	}
	return out, nil
}

// lookupSRV resolves "ZONE[@HOST:PORT]" to host:port addresses.
func lookupSRV(ctx context.Context, spec string) ([]string, error) {
	zone, dnsServer, direct := strings.Cut(spec, "@")
	if zone == "" {
		return nil, fmt.Errorf("dns: no zone")
	}
	r := net.DefaultResolver
	if direct {
		if _, _, err := net.SplitHostPort(dnsServer); err != nil {
			return nil, fmt.Errorf("dns server %q: %w", dnsServer, err)
		}
		r = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, dnsServer)
		}}
	}
	_, recs, err := r.LookupSRV(ctx, ServiceName, ServiceProto, zone)
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	var addrs []string
	for _, rec := range recs {
		host := strings.TrimSuffix(rec.Target, ".")
		if ips, err := r.LookupIPAddr(ctx, host); err == nil && len(ips) > 0 {
			host = ips[0].IP.String()
		}
		addrs = append(addrs, net.JoinHostPort(host, strconv.Itoa(int(rec.Port))))
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("dns: no SRV record for _%s._%s.%s", ServiceName, ServiceProto, zone)
	}
	return addrs, nil
}
