// Package discovery finds a Parley cluster on the local network by mDNS
// (multicast DNS with DNS-SD, RFC 6762/6763), over IPv4 and IPv6: every
// node announces the service _parley._udp.local with its client (QUIC)
// port, A/AAAA records for its addresses and TXT records naming its
// cluster, node, HTTP port and version; a client with no address browses
// for it. Answering queries and browsing is github.com/hashicorp/mdns;
// this package adds what a node needs to stay right while it runs: it
// follows its addresses (Addrs: those of its own interface) and, on a
// change that holds, sends goodbyes for the records that went away and
// announces the new ones unsolicited from port 5353 (sender), so browsers
// such as avahi follow within seconds. It also owns the TXT records
// (network input, parsed strictly), the choice of a cluster among those
// seen, and the file of node addresses a client remembers per cluster.
package discovery
