// Package discovery finds a Parley cluster on the local network by mDNS
// (multicast DNS with DNS-SD, RFC 6762/6763): every node announces the
// service _parley._udp.local with its client (QUIC) port and TXT records
// naming its cluster, node, HTTP port and version; a client with no
// address browses for it. The wire protocol is github.com/hashicorp/mdns;
// this package owns the TXT records (network input, parsed strictly), the
// choice of a cluster among those seen, and the file of node addresses a
// client remembers per cluster.
package discovery
