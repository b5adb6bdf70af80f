package daemon

import (
	"container/list"
	"fmt"
	"sync"
	"time"

	"github.com/parleychat/parley/transport"
)

// Login slow-down: the first loginFreeFailures failed passwords in a row
// for an account, or from a source address, cost nothing (a typo, a
// second try); after the k-th failure beyond those, the next try is
// refused as rate_limited until loginBase·2^(k-1) has passed, at most
// loginMaxDelay. A success clears the
// account's and the address's record. The records live in a bounded LRU, so
// however many accounts and addresses an attacker uses, the node keeps at
// most loginGuardEntries of them (the oldest are forgotten first).
const (
	loginFreeFailures = 3
	loginBase         = 250 * time.Millisecond
	loginMaxDelay     = 30 * time.Second
	loginGuardEntries = 4096
	// loginForget is how long after its last failure a record is dropped.
	loginForget = 15 * time.Minute
)

// loginGuard remembers recent login failures per account and per source
// address, and lets one password check at a time run for an account or an
// address: a flood from one place queues at most one hash ahead of
// everybody else's logins. Its in-flight set is bounded by the node's
// connection cap.
type loginGuard struct {
	mu       sync.Mutex
	cap      int
	order    *list.List // of *failure, most recently failed first
	byKey    map[string]*list.Element
	inFlight map[string]bool
}

type failure struct {
	key       string
	count     int
	last      time.Time
	notBefore time.Time
}

func newLoginGuard(capacity int) *loginGuard {
	return &loginGuard{cap: capacity, order: list.New(), byKey: make(map[string]*list.Element), inFlight: make(map[string]bool)}
}

// begin returns nil and marks a password check for user from addr as
// running, or the rate_limited error that refuses it: recent failures ask
// to wait, or a check for the same account or address runs already. A nil
// return must be followed by end.
func (g *loginGuard) begin(now time.Time, user, addr string) *transport.Error {
	if e := g.check(now, user, addr); e != nil {
		return e
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, k := range []struct{ key, what string }{
		{accountKey(user), fmt.Sprintf("account %q", user)},
		{addressKey(addr), fmt.Sprintf("address %s", addr)},
	} {
		if g.inFlight[k.key] {
			return &transport.Error{
				Code:        transport.CodeRateLimited,
				Message:     fmt.Sprintf("login: a password for %s is being checked already", k.what),
				RetryMillis: loginBase.Milliseconds(),
			}
		}
	}
	g.inFlight[accountKey(user)] = true
	g.inFlight[addressKey(addr)] = true
	return nil
}

// end marks the check begin allowed as done.
func (g *loginGuard) end(user, addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.inFlight, accountKey(user))
	delete(g.inFlight, addressKey(addr))
}

func accountKey(user string) string { return "u/" + user }
func addressKey(addr string) string { return "a/" + addr }

// check returns a rate_limited error naming the key to wait for, or nil if
// a password check may run now.
func (g *loginGuard) check(now time.Time, user, addr string) *transport.Error {
	g.mu.Lock()
	defer g.mu.Unlock()
	var wait time.Duration
	var what string
	for _, k := range []struct{ key, what string }{
		{accountKey(user), fmt.Sprintf("account %q", user)},
		{addressKey(addr), fmt.Sprintf("address %s", addr)},
	} {
		e, ok := g.byKey[k.key]
		if !ok {
			continue
		}
		f := e.Value.(*failure)
		if now.Sub(f.last) > loginForget {
			g.remove(e)
			continue
		}
		if d := f.notBefore.Sub(now); d > wait {
			wait, what = d, k.what
		}
	}
	if wait <= 0 {
		return nil
	}
	return &transport.Error{
		Code:        transport.CodeRateLimited,
		Message:     fmt.Sprintf("login: too many failed passwords for %s: retry in %v", what, wait.Round(time.Millisecond)),
		RetryMillis: wait.Milliseconds() + 1,
	}
}

// failed records a wrong password for user from addr.
func (g *loginGuard) failed(now time.Time, user, addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, key := range []string{accountKey(user), addressKey(addr)} {
		var f *failure
		if e, ok := g.byKey[key]; ok {
			f = e.Value.(*failure)
			if now.Sub(f.last) > loginForget {
				f.count = 0
			}
			g.order.MoveToFront(e)
		} else {
			f = &failure{key: key}
			g.byKey[key] = g.order.PushFront(f)
			for g.order.Len() > g.cap {
				g.remove(g.order.Back())
			}
		}
		f.count++
		f.last = now
		f.notBefore = now.Add(loginDelay(f.count))
	}
}

// succeeded clears the records of user and addr.
func (g *loginGuard) succeeded(user, addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, key := range []string{accountKey(user), addressKey(addr)} {
		if e, ok := g.byKey[key]; ok {
			g.remove(e)
		}
	}
}

func (g *loginGuard) remove(e *list.Element) {
	delete(g.byKey, e.Value.(*failure).key)
	g.order.Remove(e)
}

// len returns how many records the guard holds.
func (g *loginGuard) len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.byKey)
}

// loginDelay is the wait after the count-th failure in a row.
func loginDelay(count int) time.Duration {
	count -= loginFreeFailures
	if count <= 0 {
		return 0
	}
	if count > 20 {
		return loginMaxDelay
	}
	return min(loginMaxDelay, loginBase<<(count-1))
}
