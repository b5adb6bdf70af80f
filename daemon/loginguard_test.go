package daemon

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/transport"
)

func TestLoginGuardSlowsDownExponentially(t *testing.T) {
	g := newLoginGuard(100)
	now := time.Unix(1000, 0)
	if e := g.check(now, "alice", "10.0.0.1"); e != nil {
		t.Fatalf("fresh guard refused: %v", e)
	}
	// The first failures are free: a typo costs nothing.
	for i := range loginFreeFailures {
		g.failed(now, "alice", "10.0.0.1")
		if e := g.check(now, "alice", "10.0.0.1"); e != nil {
			t.Fatalf("after %d failures: %v, want no wait yet", i+1, e)
		}
	}
	var waits []time.Duration
	for i := range 5 {
		g.failed(now, "alice", "10.0.0.1")
		e := g.check(now, "alice", "10.0.0.1")
		if e == nil || e.Code != transport.CodeRateLimited {
			t.Fatalf("after failure %d: %v, want rate_limited", loginFreeFailures+i+1, e)
		}
		if !strings.Contains(e.Message, `account "alice"`) && !strings.Contains(e.Message, "address 10.0.0.1") {
			t.Fatalf("message %q names neither account nor address", e.Message)
		}
		waits = append(waits, e.RetryAfter())
		now = now.Add(e.RetryAfter())
		if e := g.check(now, "alice", "10.0.0.1"); e != nil {
			t.Fatalf("after waiting the hint: still refused: %v", e)
		}
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] < 2*waits[i-1]-time.Millisecond {
			t.Fatalf("waits %v do not double", waits)
		}
	}
	// Another account from another address is not slowed down.
	if e := g.check(now, "bob", "10.0.0.2"); e != nil {
		t.Fatalf("bob refused: %v", e)
	}
	// The address alone slows down another account from it.
	for range loginFreeFailures + 1 {
		g.failed(now, "alice", "10.0.0.1")
	}
	if e := g.check(now, "bob", "10.0.0.1"); e == nil || !strings.Contains(e.Message, "address 10.0.0.1") {
		t.Fatalf("bob from alice's address: %v, want the address named", e)
	}
	g.succeeded("alice", "10.0.0.1")
	if e := g.check(now, "alice", "10.0.0.1"); e != nil {
		t.Fatalf("after a success: %v", e)
	}
	if got := loginDelay(1000); got != loginMaxDelay {
		t.Fatalf("loginDelay(1000) = %v, want the cap %v", got, loginMaxDelay)
	}
}

// However many accounts and addresses fail, the guard holds at most its
// capacity.
func TestLoginGuardIsBounded(t *testing.T) {
	g := newLoginGuard(64)
	now := time.Unix(1000, 0)
	for i := range 10000 {
		g.failed(now, fmt.Sprintf("user%d", i), fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	}
	if n := g.len(); n > 64 {
		t.Fatalf("guard holds %d records, cap 64", n)
	}
	// The most recent failures are the ones kept.
	for range loginFreeFailures {
		g.failed(now, "user9999", "10.0.39.15")
	}
	if n := g.len(); n > 64 {
		t.Fatalf("guard holds %d records, cap 64", n)
	}
	if e := g.check(now, "user9999", "10.0.39.15"); e == nil {
		t.Fatal("the latest failed account was forgotten")
	}
}

func TestConnCap(t *testing.T) {
	c := newConnCap(3, 2)
	for _, ip := range []string{"a", "a"} {
		if err := c.acquire(ip); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.acquire("a"); err == nil || !strings.Contains(err.Error(), "per address") {
		t.Fatalf("third from a: %v, want the per-address cap", err)
	}
	if err := c.acquire("b"); err != nil {
		t.Fatal(err)
	}
	if err := c.acquire("c"); err == nil || !strings.Contains(err.Error(), "its limit") {
		t.Fatalf("fourth overall: %v, want the node cap", err)
	}
	c.release("a")
	if err := c.acquire("c"); err != nil {
		t.Fatalf("after a release: %v", err)
	}
}

func TestLoginGuardOneCheckAtATime(t *testing.T) {
	g := newLoginGuard(100)
	now := time.Unix(1000, 0)
	if e := g.begin(now, "alice", "10.0.0.1"); e != nil {
		t.Fatal(e)
	}
	for _, c := range [][2]string{{"alice", "10.0.0.2"}, {"bob", "10.0.0.1"}} {
		if e := g.begin(now, c[0], c[1]); e == nil || e.Code != transport.CodeRateLimited || !strings.Contains(e.Message, "being checked") {
			t.Fatalf("%s from %s while alice@10.0.0.1 runs: %v", c[0], c[1], e)
		}
	}
	if e := g.begin(now, "bob", "10.0.0.2"); e != nil {
		t.Fatalf("an unrelated login: %v", e)
	}
	g.end("alice", "10.0.0.1")
	if e := g.begin(now, "alice", "10.0.0.3"); e != nil {
		t.Fatalf("after end: %v", e)
	}
}
