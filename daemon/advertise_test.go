package daemon

import (
	"errors"
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

// An IPv6 literal cannot be advertised (dragonboat's Raft addresses take
// none): the config says so and what to do, before anything starts.
func TestAdvertiseIPv6Refused(t *testing.T) {
	for _, c := range []Config{
		{DataDir: t.TempDir(), Advertise: "fd00::7"},
		{DataDir: t.TempDir(), Listen: "[fd00::7]:7400"},
	} {
		err := c.setDefaults()
		if !errors.Is(err, parley.ErrInvalid) || !strings.Contains(err.Error(), "host name") {
			t.Errorf("%+v: %v, want ErrInvalid saying to advertise a host name", c, err)
		}
	}
	for _, adv := range []string{"10.0.0.7", "pi3.lan"} {
		c := Config{DataDir: t.TempDir(), Advertise: adv}
		if err := c.setDefaults(); err != nil {
			t.Errorf("advertise %s: %v", adv, err)
		}
	}
}

// A node whose clients listen on loopback only announces nothing by mDNS,
// even with it on: no one on the LAN could reach it (and a test's node
// stays off the LAN).
func TestMDNSNotOnLoopback(t *testing.T) {
	srv := startServer(t, func(c *Config) { c.MDNS = true })
	if srv.mdns != nil {
		t.Fatal("a node listening on 127.0.0.1 announces itself by mDNS")
	}
}

// The DNS service cannot share mDNS's port with mDNS: the config says so
// and what to do, before anything starts (a node used to hang at start).
func TestDNSOnMDNSPortRefused(t *testing.T) {
	c := Config{DataDir: t.TempDir(), DNS: ":5353", MDNS: true}
	if err := c.setDefaults(); !errors.Is(err, parley.ErrInvalid) || !strings.Contains(err.Error(), "another port") {
		t.Errorf("--dns :5353 with mDNS on: %v, want ErrInvalid saying to pick another port", err)
	}
	for _, c := range []Config{
		{DataDir: t.TempDir(), DNS: ":5353"},
		{DataDir: t.TempDir(), DNS: ":5354", MDNS: true},
	} {
		if err := c.setDefaults(); err != nil {
			t.Errorf("--dns %s with mDNS %v: %v", c.DNS, c.MDNS, err)
		}
	}
}
