package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestWebClient drives the web client in real headless chromium against a
// 3-node process cluster: two browser users and a CLI user chat, a direct
// message stays private, a hostile message renders as text, unread counts
// move and clear, screenshots are taken, and finally the node serving a
// page is killed while messages flow.
func TestWebClient(t *testing.T) {
	c := startCluster(t)
	browser := newBrowser(t)
	n1, n2 := c.Nodes[0], c.Nodes[1]
	room := uniq("lobby")
	cat := c.cli(t, "cat")

	ann := newPage(t, browser, "ann")
	ann.open(n1.HTTP, "#/room/"+room)
	ann.login("ann")
	ann.goRoom(room)
	ben := newPage(t, browser, "ben")
	ben.open(n2.HTTP, "#/room/"+room)
	ben.login("ben")
	ben.goRoom(room)

	// A reload stays logged in (the HttpOnly cookie).
	ann.do(reload())
	ann.waitSelector(`[data-testid=room-list]`)
	ann.goRoom(room)

	step(t, "chat", func() {
		ann.say("hello from ann")
		ben.say("hi from ben")
		cat.mustRun(t, "", "send", "--room", room, "from the cli")
		want := []string{"hello from ann", "hi from ben", "from the cli"}
		for _, p := range []*page{ann, ben} {
			p.waitMessages("three messages", func(ms []shownMessage) error {
				return hasTexts(ms, want)
			})
		}
		hist := parseHistory(t, cat.mustRun(t, "", "history", "--room", room, "--json").stdout)
		if err := hasTexts(hist, want); err != nil {
			t.Fatalf("parley history: %v", err)
		}
		for _, p := range []*page{ann, ben} {
			p.waitMessages("the page equals parley history", func(ms []shownMessage) error {
				return sameMessages(ms, hist)
			})
		}
	})

	step(t, "typing", func() {
		// Typing shows on the other page, from memory, never in the log.
		ben.do(chromedp.SendKeys(chromedp.CSS(`[data-testid=composer]`), "thinking"))
		waitJS(ann, "ben is typing", `document.querySelector('[data-testid=typing]').textContent`, func(s string) error {
			if !strings.Contains(s, "ben is typing") {
				return fmt.Errorf("typing line %q", s)
			}
			return nil
		})
		ben.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid=composer]').value = ""`))
	})

	step(t, "dm", func() {
		dm := "dm.ann.ben"
		ann.goRoom(dm)
		ann.say("just between us")
		ben.goRoom(dm)
		ben.waitMessages("the direct message", func(ms []shownMessage) error {
			return hasTexts(ms, []string{"just between us"})
		})
		r := cat.run(t, "", "history", "--room", dm)
		if r.code == 0 || strings.Contains(r.stdout, "just between us") {
			t.Fatalf("a third user read the direct message: exit %d, %q", r.code, r.stdout)
		}
		if out := cat.mustRun(t, "", "rooms").stdout; strings.Contains(out, dm) {
			t.Fatalf("a third user's rooms list the direct message room:\n%s", out)
		}
		ben.goRoom(room)
		ann.goRoom(room)
	})

	step(t, "keys", func() {
		// Shift+Enter makes a new line, Enter sends.
		ann.do(chromedp.Focus(chromedp.CSS(`[data-testid=composer]`)), chromedp.SendKeys(chromedp.CSS(`[data-testid=composer]`), "two"))
		ann.press("Enter", "Enter", 13, 8, "\r")
		ann.do(chromedp.SendKeys(chromedp.CSS(`[data-testid=composer]`), "lines"))
		ann.pressEnter()
		ben.waitMessages("a message of two lines", func(ms []shownMessage) error {
			return hasTexts(ms, []string{"two\nlines"})
		})
		// Ctrl+K opens the room switcher; Enter goes to the first match.
		ann.press("k", "KeyK", 75, 2, "")
		ann.waitSelector(`[data-testid=switcher] input`)
		ann.do(chromedp.SendKeys(chromedp.CSS(`[data-testid=switcher] input`), "dm.ann"))
		ann.press("Enter", "Enter", 13, 0, "\r")
		waitJS(ann, "the switcher's room", `location.hash`, func(h string) error {
			if h != "#/room/dm.ann.ben" {
				return fmt.Errorf("at %q", h)
			}
			return nil
		})
		ann.goRoom(room)
	})

	step(t, "xss", func() {
		evil := `<img src=x onerror="window.__pwned=1">`
		cat.mustRun(t, "", "send", "--room", room, evil)
		ann.waitMessages("the hostile message", func(ms []shownMessage) error {
			return hasTexts(ms, []string{evil})
		})
		imgs, err := eval[int](ann, `document.querySelectorAll('[data-testid=message] img').length`)
		if err != nil || imgs != 0 {
			t.Fatalf("the message list holds %d img elements (%v)", imgs, err)
		}
		pwned, err := eval[bool](ann, `window.__pwned === 1`)
		if err != nil || pwned {
			t.Fatalf("the hostile message ran: %v %v", pwned, err)
		}
	})

	step(t, "unread", func() {
		side := uniq("side")
		annCLI := c.cli(t, "ann")
		ann.goRoom(side)
		ann.goRoom(room)
		ben.goRoom(side)
		for i := range 3 {
			ben.say(fmt.Sprintf("side note %d", i))
		}
		// The page and parley rooms agree, from the cluster's read marker.
		agree := func(what string, ok func(int) bool) {
			waitFor(t, pageWait, what, func() error {
				web := ann.unread(side)
				cli := cliUnread(t, annCLI, side)
				if web != cli || !ok(web) {
					return fmt.Errorf("page shows %d unread, parley rooms %d", web, cli)
				}
				return nil
			})
		}
		agree("three or more unread in "+side, func(n int) bool { return n >= 3 })
		ann.goRoom(side)
		agree("unread cleared", func(n int) bool { return n == 0 })
		ann.waitSelector(`[data-testid=new-messages]`)
		ann.goRoom(room)
		ben.goRoom(room)
	})

	step(t, "history", func() {
		// A room longer than the page holds: it opens at its end,
		// scrolling up loads older pages, scrolling down newer ones, each
		// message once, in order, and the page never holds more than a
		// window of them.
		big := uniq("big")
		sdk := c.Dial(t, "cat", c.Nodes[2].Client)
		const n, window = 1300, 1200
		var wg sync.WaitGroup
		for w := range 10 {
			wg.Go(func() {
				for i := w; i < n; i += 10 {
					ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
					if _, err := sdk.Send(ctx, big, fmt.Sprintf("old %d", i)); err != nil {
						t.Errorf("send: %v", err)
					}
					cancel()
				}
			})
		}
		wg.Wait()
		ann.goRoom(big)
		first := ann.waitMessages("the end of the room", func(ms []shownMessage) error {
			if len(ms) == 0 || ms[len(ms)-1].Seq < n {
				return fmt.Errorf("%d messages shown", len(ms))
			}
			return nil
		})
		if len(first) > 200 {
			t.Fatalf("the page holds %d messages of %d at first, want a window", len(first), n+1)
		}
		ms := ann.waitMessages("scrolling up to the start", func(ms []shownMessage) error {
			eval[chromedp.Void](ann, `document.querySelector('.messages').scrollTop = 0`)
			if len(ms) == 0 || ms[0].Seq != 1 {
				return fmt.Errorf("first shown seq %v", ms[0].Seq)
			}
			return nil
		})
		contiguous := func(ms []shownMessage) {
			t.Helper()
			if len(ms) > window {
				t.Fatalf("the page holds %d messages, more than its window of %d", len(ms), window)
			}
			for i, m := range ms {
				if m.Seq != ms[0].Seq+uint64(i) {
					t.Fatalf("message %d has seq %d after %d: a gap or a duplicate", i, m.Seq, ms[0].Seq)
				}
			}
		}
		contiguous(ms)
		last := first[len(first)-1].Seq
		ms = ann.waitMessages("scrolling down to the end", func(ms []shownMessage) error {
			eval[chromedp.Void](ann, `(e => e.scrollTop = e.scrollHeight)(document.querySelector('.messages'))`)
			if len(ms) == 0 || ms[len(ms)-1].Seq != last {
				return fmt.Errorf("last shown seq %d, want %d", ms[len(ms)-1].Seq, last)
			}
			return nil
		})
		contiguous(ms)
		ann.goRoom(room)
	})

	step(t, "screenshots", func() {
		dir := filepath.Join("..", "bin", "screenshots")
		mention := "a longer message, to see how the text wraps when it does not fit on one line of the room view, @ann"
		ben.say(mention)
		ann.waitMessages("ben's mention", func(ms []shownMessage) error {
			return hasTexts(ms, []string{mention})
		})
		for _, scheme := range []string{"light", "dark"} {
			ann.screenshot(dir, "room", 1280, 800, scheme)
			ann.screenshot(dir, "room", 390, 844, scheme)
		}
		ann.do(reload())
		ann.goRoom(room)
		ann.do(navigateHash("#/cluster"))
		ann.waitSelector(`[data-testid=node]`)
		for _, scheme := range []string{"light", "dark"} {
			ann.screenshot(dir, "cluster", 1280, 800, scheme)
		}
		ann.do(navigateHash("#/room/" + room))
		ann.screenshot(dir, "room", 1280, 800, "light")
		ann.goRoom(room)
	})

	step(t, "measure", func() {
		// A reload while logged in: the page's bytes and the time until
		// it shows the room's messages. Reported, never asserted.
		ann.do(reload())
		ann.waitSelector(`[data-testid=message]`)
		type measure struct {
			Bytes   float64 `json:"bytes"`
			Files   int     `json:"files"`
			FirstMs float64 `json:"firstMs"`
		}
		m := waitJS(ann, "the first-message mark", `(() => {
			const mark = performance.getEntriesByName("parley-first-message")[0];
			const all = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")];
			return {bytes: all.reduce((s, e) => s + (e.transferSize || e.encodedBodySize || 0), 0), files: all.length, firstMs: mark ? mark.startTime : -1};
		})()`, func(m measure) error {
			if m.FirstMs < 0 {
				return fmt.Errorf("no mark yet")
			}
			return nil
		})
		t.Logf("page load on loopback: %d files, %.0f bytes transferred; first message shown %.0f ms after navigation", m.Files, m.Bytes, m.FirstMs)
		ann.goRoom(room)
	})

	step(t, "failover", func() {
		// ann's page is served by n1. Record every text the status shows.
		if _, err := eval[bool](ann, `(() => {
			window.__states = [];
			const seen = () => { const e = document.querySelector('[data-testid=connection-status]'); if (e) window.__states.push(e.textContent), window.__stateTimes.push(performance.now()); };
			window.__stateTimes = [];
			new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, characterData: true});
			return true })()`); err != nil {
			t.Fatal(err)
		}
		// cat writes through the other nodes all along.
		sdk := c.Dial(t, "cat", c.Nodes[1].Client, c.Nodes[2].Client)
		var sent atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
				if _, err := sdk.Send(ctx, room, fmt.Sprintf("flow %d", i)); err == nil {
					sent.Add(1)
				}
				cancel()
			}
		}()
		waitFor(t, pageWait, "messages flowing", func() error {
			if sent.Load() < 5 {
				return fmt.Errorf("%d sent", sent.Load())
			}
			return nil
		})
		c.Kill(t, n1)
		// Typed while the page may be cut off: kept and sent once.
		ann.say("typed during the failover")
		waitJS(ann, "the reconnecting banner, then connected again", `window.__states`, func(states []string) error {
			i := slices.IndexFunc(states, func(s string) bool { return strings.Contains(s, "reconnecting") })
			if i < 0 {
				return fmt.Errorf("no reconnecting banner in %q", states[max(0, len(states)-3):])
			}
			if !slices.ContainsFunc(states[i:], func(s string) bool { return strings.Contains(s, "connected to") }) {
				return fmt.Errorf("not connected again: %q", states[max(0, len(states)-3):])
			}
			return nil
		})
		times, _ := eval[[]float64](ann, `window.__stateTimes`)
		states, _ := eval[[]string](ann, `window.__states`)
		if i := slices.IndexFunc(states, func(s string) bool { return strings.Contains(s, "reconnecting") }); i >= 0 && len(times) == len(states) {
			if j := slices.IndexFunc(states[i:], func(s string) bool { return strings.Contains(s, "connected to") }); j >= 0 {
				t.Logf("the banner said reconnecting for %.0f ms, then %q", times[i+j]-times[i], states[i+j])
			}
		}
		waitFor(t, pageWait, "more messages after the kill", func() error {
			if sent.Load() < 40 {
				return fmt.Errorf("%d sent", sent.Load())
			}
			return nil
		})
		close(stop)
		wg.Wait()
		var hist []shownMessage
		ann.waitMessages("the page equals parley history", func(ms []shownMessage) error {
			r := cat.run(t, "", "history", "--room", room, "--json", "--last", "1000")
			if r.code != 0 {
				return fmt.Errorf("history: %s", r.stderr)
			}
			hist = parseHistory(t, r.stdout)
			return sameMessages(ms, hist)
		})
		n := 0
		for _, m := range hist {
			if m.Text == "typed during the failover" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("the message typed during the failover is in the history %d times", n)
		}
		t.Logf("the page matched the %d messages of the history after the failover", len(hist))
	})

	ann.checkClean()
	ben.checkClean()
}

// cliUnread is the unread count of room in "parley rooms --json", -1 if
// the room is not listed.
func cliUnread(t *testing.T, e cliEnv, room string) int {
	t.Helper()
	out := e.mustRun(t, "", "rooms", "--json").stdout
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct {
			Name   string `json:"name"`
			Unread int    `json:"unread"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("rooms line %q: %v", line, err)
		}
		if r.Name == room {
			return r.Unread
		}
	}
	return -1
}

// step runs one part of a long test, with its name in the log. The parts
// share the pages, which belong to the whole test, so they are not
// subtests.
func step(t *testing.T, name string, f func()) {
	t.Helper()
	t.Logf("--- %s", name)
	f()
}

// hasTexts checks that ms holds each of want once, exactly, in this order.
func hasTexts(ms []shownMessage, want []string) error {
	i := 0
	seen := map[string]int{}
	for _, m := range ms {
		for _, w := range want {
			if m.Text == w {
				seen[w]++
			}
		}
		if i < len(want) && m.Text == want[i] {
			i++
		}
	}
	for _, w := range want {
		if seen[w] != 1 {
			return fmt.Errorf("%q shown %d times", w, seen[w])
		}
	}
	if i != len(want) {
		return fmt.Errorf("not in the order %q", want)
	}
	return nil
}

// sameMessages checks that the page shows exactly the history: the same
// seqs, users, kinds and texts, in order, nothing more.
func sameMessages(page, hist []shownMessage) error {
	if len(page) != len(hist) {
		return fmt.Errorf("page shows %d messages, history has %d", len(page), len(hist))
	}
	for i := range page {
		if page[i] != hist[i] {
			return fmt.Errorf("message %d: page %+v, history %+v", i, page[i], hist[i])
		}
	}
	return nil
}
