package discovery

import (
	"fmt"
	"log"
	"log/slog"
	"net"
	"sync"

	"github.com/hashicorp/mdns"
)

// Service is the DNS-SD service type of a Parley node's client port, in
// the domain "local".
const Service = "_parley._udp"

// Announcement is what one node announces.
type Announcement struct {
	Record
	// IP is the address clients reach the node at; Port its client port.
	IP   net.IP
	Port int
}

// Announcer answers mDNS queries for one node's service until closed.
type Announcer struct {
	log *slog.Logger

	mu  sync.Mutex
	cur Announcement
	srv *mdns.Server
}

// Announce starts answering for a. The logger gets the library's messages
// at debug level.
func Announce(a Announcement, logger *slog.Logger) (*Announcer, error) {
	an := &Announcer{log: logger}
	if err := an.Update(a); err != nil {
		return nil, err
	}
	return an, nil
}

// Update re-announces with a's records if they differ from the current
// ones: the service is replaced, so that queries from then on are answered
// with the new records.
func (an *Announcer) Update(a Announcement) error {
	an.mu.Lock()
	defer an.mu.Unlock()
	if an.srv != nil && sameAnnouncement(an.cur, a) {
		return nil
	}
	if a.IP == nil || a.IP.IsUnspecified() {
		return fmt.Errorf("mdns: announce %s: no address to announce", a.Name)
	}
	host := a.Name + ".local."
	zone, err := mdns.NewMDNSService(a.Name, Service, "local.", host, a.Port, []net.IP{a.IP}, a.TXT())
	if err != nil {
		return fmt.Errorf("mdns: %w", err)
	}
	if an.srv != nil {
		_ = an.srv.Shutdown()
		an.srv = nil
	}
	srv, err := mdns.NewServer(&mdns.Config{Zone: zone, Logger: log.New(slogWriter{an.log}, "", 0)})
	if err != nil {
		return fmt.Errorf("mdns: %w", err)
	}
	an.srv, an.cur = srv, a
	an.log.Info("mdns announcing", "service", Service+".local", "instance", a.Name, "port", a.Port)
	return nil
}

// Close stops answering.
func (an *Announcer) Close() error {
	an.mu.Lock()
	defer an.mu.Unlock()
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
	return x.Record == y.Record && x.IP.Equal(y.IP) && x.Port == y.Port
}

// slogWriter passes the library's log lines to a slog.Logger at debug level.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Debug("mdns", "msg", string(p))
	return len(p), nil
}
