package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The web client's tests drive Debian's chromium, headless, through the
// DevTools protocol (chromedp). Every page runs in a browser context of
// its own, so each user has their own cookies, as in separate browsers.

// browserTimeout bounds one browser action; pageWait bounds waiting for
// the page to show something.
const (
	browserTimeout = 30 * time.Second
	pageWait       = 60 * time.Second
)

// newBrowser starts headless chromium for the test. A machine without
// chromium fails the test: it is installed by .ci/run.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (apt-get install chromium; .ci/run does): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800),
		chromedp.UserDataDir(t.TempDir()),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return ctx
}

// page is one user's tab.
type page struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu       sync.Mutex
	problems []string // exceptions, CSP violations, console errors
}

// newPage opens a tab in a fresh browser context of browser.
func newPage(t *testing.T, browser context.Context, name string) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	p := &page{t: t, name: name, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: new tab: %v", name, err)
	}
	if err := chromedp.Listen(ctx, p.listen); err != nil {
		t.Fatalf("%s: listen: %v", name, err)
	}
	return p
}

func (p *page) listen(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		problem = fmt.Sprintf("exception: %s %s:%d", d.Text, d.URL, d.LineNumber)
		if d.Exception != nil {
			problem += " " + d.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, fmt.Sprintf("%s%s", a.Description, a.Value))
			}
			problem = "console error: " + strings.Join(parts, " ")
		}
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError && !strings.Contains(ev.Entry.Text, "WebSocket") &&
			!strings.Contains(ev.Entry.Text, "net::ERR_CONNECTION_REFUSED") {
			problem = "log: " + ev.Entry.Text
		}
	}
	if problem != "" {
		p.mu.Lock()
		p.problems = append(p.problems, problem)
		p.mu.Unlock()
	}
}

// checkClean fails the test if the page threw, logged an error or broke
// its Content-Security-Policy.
func (p *page) checkClean() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.problems {
		p.t.Errorf("%s's page: %s", p.name, pr)
	}
}

func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// eval evaluates js in the page and decodes its value into T.
func eval[T any](p *page, js string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, browserTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js))
}

// waitJS polls js in the page until check accepts its value.
func waitJS[T any](p *page, what, js string, check func(T) error) T {
	p.t.Helper()
	var v T
	err := poll(pageWait, func() error {
		var err error
		if v, err = eval[T](p, js); err != nil {
			return err
		}
		return check(v)
	})
	if err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
	return v
}

// open loads the client from node address addr at fragment frag.
func (p *page) open(addr, frag string) {
	p.t.Helper()
	p.do(chromedp.Navigate("http://" + addr + "/" + frag))
}

// login logs in from the login form and waits for the room list.
func (p *page) login(user string) {
	p.t.Helper()
	p.waitSelector(`[data-testid=login-user]`)
	p.do(
		chromedp.SendKeys(chromedp.CSS(`[data-testid=login-user]`), user),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=login-password]`), password),
		chromedp.Click(chromedp.CSS(`[data-testid=login-submit]`)),
	)
	p.waitSelector(`[data-testid=room-list]`)
}

func (p *page) waitSelector(sel string) {
	p.t.Helper()
	waitJS(p, "wait for "+sel, fmt.Sprintf(`!!document.querySelector(%q)`, sel), func(ok bool) error {
		if !ok {
			return fmt.Errorf("no %s yet", sel)
		}
		return nil
	})
}

// goRoom opens room by URL fragment and waits until its view shows.
func (p *page) goRoom(room string) {
	p.t.Helper()
	p.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = "#/room/" + encodeURIComponent(%q)`, room)))
	waitJS(p, "open "+room, fmt.Sprintf(`!!document.querySelector('[data-testid=room-item][data-room=%q].active') && !!document.querySelector('[data-testid=composer]')`, room),
		func(ok bool) error {
			if !ok {
				return fmt.Errorf("room %s not open yet", room)
			}
			return nil
		})
}

// say types text into the composer and presses Enter.
func (p *page) say(text string) {
	p.t.Helper()
	p.do(
		chromedp.Focus(chromedp.CSS(`[data-testid=composer]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=composer]`), text),
	)
	p.pressEnter()
}

// press presses one key with modifiers (input.Modifier bits: Alt 1, Ctrl
// 2, Shift 8), with text for a key that types one.
func (p *page) press(key, code string, vk int64, modifiers int64, text string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserTimeout)
	defer cancel()
	ev := input.DispatchKeyEventParams{Key: key, Code: code, WindowsVirtualKeyCode: vk, NativeVirtualKeyCode: vk, Modifiers: modifiers}
	down, up := ev, ev
	down.Type, down.Text, up.Type = input.DispatchKeyEventTypeKeyDown, text, input.DispatchKeyEventTypeKeyUp
	if text == "" {
		down.Type = input.DispatchKeyEventTypeRawKeyDown
	}
	for _, e := range []input.DispatchKeyEventParams{down, up} {
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, e); err != nil {
			p.t.Fatalf("%s: press %s: %v", p.name, key, err)
		}
	}
}

// pressEnter presses Enter as a keyboard does: one keydown carrying the
// text "\r", so that a handler's preventDefault keeps the newline out of
// the textarea (chromedp's SendKeys sends a separate char event, which no
// keyboard does).
func (p *page) pressEnter() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserTimeout)
	defer cancel()
	key := input.DispatchKeyEventParams{Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}
	down, up := key, key
	down.Type, down.Text, up.Type = input.DispatchKeyEventTypeKeyDown, "\r", input.DispatchKeyEventTypeKeyUp
	for _, ev := range []input.DispatchKeyEventParams{down, up} {
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, ev); err != nil {
			p.t.Fatalf("%s: press Enter: %v", p.name, err)
		}
	}
}

// shownMessage is one message element of the room view.
type shownMessage struct {
	Seq  uint64 `json:"seq"`
	User string `json:"user"`
	Text string `json:"text"`
	Kind string `json:"kind"`
}

const messagesJS = `[...document.querySelectorAll('[data-testid=message]')].map(e => ({
	seq: Number(e.dataset.seq), user: e.dataset.user, kind: e.dataset.kind || "",
	text: e.querySelector('.text').textContent}))`

// waitMessages waits until the room view's messages pass check.
func (p *page) waitMessages(what string, check func([]shownMessage) error) []shownMessage {
	p.t.Helper()
	return waitJS(p, what, messagesJS, check)
}

// unread returns the unread badge of room in the room list, -1 if the
// room is not listed.
func (p *page) unread(room string) int {
	p.t.Helper()
	n, err := eval[int](p, fmt.Sprintf(`(e => e ? Number(e.querySelector('[data-testid=unread-count]').textContent) : -1)(document.querySelector('[data-testid=room-item][data-room=%q]'))`, room))
	if err != nil {
		p.t.Fatalf("%s: unread: %v", p.name, err)
	}
	return n
}

// screenshot writes the page at width×height in scheme (light or dark)
// to dir/name-width-scheme.png.
func (p *page) screenshot(dir, name string, width, height int64, scheme string) string {
	p.t.Helper()
	p.do(chromedp.EmulateViewport(width, height))
	ctx, cancel := context.WithTimeout(p.ctx, browserTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	}); err != nil {
		p.t.Fatalf("%s: emulate %s: %v", p.name, scheme, err)
	}
	// Let the layout settle for the picture (not synchronisation).
	p.do(chromedp.Sleep(300 * time.Millisecond))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("%s: screenshot: %v", p.name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	file := filepath.Join(dir, fmt.Sprintf("%s-%d-%s.png", name, width, scheme))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	return file
}

// historyLine is one message of "parley history --json".
type historyLine struct {
	Seq  uint64 `json:"seq"`
	User string `json:"user"`
	Text string `json:"text"`
	Kind string `json:"kind"`
}

func parseHistory(t *testing.T, out string) []shownMessage {
	t.Helper()
	var ms []shownMessage
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var h historyLine
		if err := json.Unmarshal([]byte(line), &h); err != nil {
			t.Fatalf("history line %q: %v", line, err)
		}
		ms = append(ms, shownMessage(h))
	}
	return ms
}

func reload() chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`location.reload()`)
}

func navigateHash(frag string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %q`, frag))
}
