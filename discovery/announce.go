package discovery

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/mdns"
)

// Service is the DNS-SD service type of a Parley node's client port, in
// the domain "local".
const Service = "_parley._udp"

// Poll is how often an Announcer re-reads what it announces. A change is
// announced once two reads in a row agree on it, so a burst of changes
// (an interface coming up with several addresses) makes one re-announcement.
const Poll = 2 * time.Second

// Announcement is what one node announces.
type Announcement struct {
	Record
	// IPs are the addresses clients reach the node at, IPv4 (A records)
	// and IPv6 (AAAA records); Port is its client port. With no IPs the
	// node announces nothing until it has one.
	IPs  []net.IP
	Port int
}

// Source says what the node announces now; an Announcer calls it every
// Poll.
type Source func() (Announcement, error)

// Announcer answers mDNS queries for one node's service until closed, and
// follows its Source: when what the node announces changes, the records
// that went away are withdrawn (a goodbye, TTL 0) and the new ones are
// announced unsolicited, so browsers' caches follow at once.
type Announcer struct {
	log    *slog.Logger
	src    Source
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	cur     Announcement
	zone    *mdns.MDNSService // nil while nothing is announced
	srv     *mdns.Server
	send    *sender
	pending *Announcement // the last read that differed from cur
	again   *time.Timer   // the second unsolicited announcement
}

// Announce starts answering for what src returns, and keeps following it
// until Close. The logger gets the library's messages at debug level. An
// error of src or of the multicast sockets at the start is returned; later
// ones are logged and retried at the next Poll.
func Announce(src Source, logger *slog.Logger) (*Announcer, error) {
	a, err := src()
	if err != nil {
		return nil, err
	}
	send, err := newSender(logger)
	if err != nil {
		return nil, err
	}
	send.join()
	ctx, cancel := context.WithCancel(context.Background())
	an := &Announcer{log: logger, src: src, send: send, cancel: cancel, done: make(chan struct{})}
	if err := an.update(a); err != nil {
		cancel()
		send.close()
		return nil, err
	}
	go an.follow(ctx)
	return an, nil
}

// follow re-reads the source every Poll and announces a change once two
// reads in a row agree on it.
func (an *Announcer) follow(ctx context.Context) {
	defer close(an.done)
	t := time.NewTicker(Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		an.send.join()
		a, err := an.src()
		if err != nil {
			an.log.Warn("mdns: what to announce", "err", err)
			continue
		}
		if err := an.observe(a); err != nil {
			an.log.Warn("mdns: re-announce", "err", err)
		}
	}
}

// observe handles one read of the source: a change seen twice in a row is
// announced; a change seen once is remembered.
func (an *Announcer) observe(a Announcement) error {
	an.mu.Lock()
	var now bool
	now, an.pending = settle(an.cur, an.srv != nil, an.pending, a)
	an.mu.Unlock()
	if !now {
		return nil
	}
	return an.update(a)
}

// settle decides what to do with a read a of the source, given what is
// announced (cur, and whether a server answers for it) and the change seen
// at the previous read (pending, nil if none): announce a now, or wait,
// remembering what is pending. A read like cur cancels a pending change;
// a change is announced when two reads in a row see it. A server that
// failed to start counts as a change, so it is retried.
func settle(cur Announcement, serving bool, pending *Announcement, a Announcement) (now bool, next *Announcement) {
	changed := !sameAnnouncement(cur, a) || (!serving && len(a.IPs) > 0)
	switch {
	case !changed:
		return false, nil
	case pending != nil && sameAnnouncement(*pending, a):
		return true, nil
	default:
		return false, &a
	}
}

// update announces a in place of what is announced now: the records that
// went away get a goodbye, the server answering queries is replaced, and
// the new records are announced twice, a second apart (RFC 6762 8.3).
func (an *Announcer) update(a Announcement) error {
	a.IPs = sortIPs(a.IPs)
	an.mu.Lock()
	defer an.mu.Unlock()
	an.pending = nil
	var zone *mdns.MDNSService
	if len(a.IPs) > 0 {
		var err error
		zone, err = mdns.NewMDNSService(a.Name, Service, "local.", a.Name+".local.", a.Port, a.IPs, a.TXT())
		if err != nil {
			return fmt.Errorf("mdns: %w", err)
		}
	}
	if an.zone != nil {
		an.send.send(goodbyes(records(an.zone), records(zone)))
	}
	if an.srv != nil {
		_ = an.srv.Shutdown()
		an.srv = nil
	}
	if an.again != nil {
		an.again.Stop()
	}
	an.zone, an.cur = nil, a
	if zone == nil {
		an.log.Info("mdns: no address to announce; waiting for one", "instance", a.Name)
		return nil
	}
	srv, err := mdns.NewServer(&mdns.Config{Zone: zone, Logger: log.New(slogWriter{an.log}, "", 0)})
	if err != nil {
		return fmt.Errorf("mdns: %w", err)
	}
	an.srv, an.zone = srv, zone
	recs := announcing(records(zone))
	an.send.send(recs)
	an.again = time.AfterFunc(time.Second, func() { an.send.send(recs) })
	an.log.Info("mdns announcing", "service", Service+".local", "instance", a.Name, "port", a.Port, "addrs", ipStrings(a.IPs))
	return nil
}

// Close withdraws the announcement (a goodbye for every record) and stops
// answering.
func (an *Announcer) Close() error {
	an.cancel()
	<-an.done
	an.mu.Lock()
	defer an.mu.Unlock()
	if an.again != nil {
		an.again.Stop()
	}
	if an.zone != nil {
		an.send.send(goodbyes(records(an.zone), nil))
		an.zone = nil
	}
	an.send.close()
	if an.srv == nil {
		return nil
	}
	err := an.srv.Shutdown()
	an.srv = nil
	if err != nil {
		return fmt.Errorf("mdns: %w", err)
	}
	return nil
}

func sameAnnouncement(x, y Announcement) bool {
	return x.Record == y.Record && x.Port == y.Port &&
		slices.EqualFunc(sortIPs(x.IPs), sortIPs(y.IPs), net.IP.Equal)
}

// sortIPs returns ips without duplicates, IPv4 first, each family in
// byte order, as 16-byte addresses.
func sortIPs(ips []net.IP) []net.IP {
	out := make([]net.IP, 0, len(ips))
	for _, ip := range ips {
		if ip = ip.To16(); ip != nil {
			out = append(out, ip)
		}
	}
	slices.SortFunc(out, func(a, b net.IP) int {
		if a4, b4 := a.To4() != nil, b.To4() != nil; a4 != b4 {
			if a4 {
				return -1
			}
			return 1
		}
		return strings.Compare(string(a), string(b))
	})
	return slices.CompactFunc(out, net.IP.Equal)
}

func ipStrings(ips []net.IP) []string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return s
}

// slogWriter passes the library's log lines to a slog.Logger at debug level.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Debug("mdns", "msg", string(p))
	return len(p), nil
}
