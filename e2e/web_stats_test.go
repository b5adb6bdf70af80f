package e2e

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/client"
)

// statRow is one bar of the Stats view.
type statRow struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// searchHit is one search result of the Stats view.
type searchHit struct {
	Room string `json:"room"`
	Seq  string `json:"seq"`
	User string `json:"user"`
	Text string `json:"text"`
}

// TestWebStats runs analytics jobs from the web client's Stats view in real
// headless chromium against a 3-node process cluster: the bars of
// messages-per-user equal the counts from history, the activity heatmap
// holds every message, and a search hit shows the message and opens its
// room when clicked. Screenshots land in bin/screenshots.
func TestWebStats(t *testing.T) {
	c := startCluster(t)
	msgs := analyticsChat(t, c, 25)
	want := perUser(msgs)
	browser := newBrowser(t)
	alice := newPage(t, browser, "alice")
	alice.open(c.Nodes[1].HTTP, "#/stats")
	alice.login("alice")
	alice.do(navigateHash("#/stats"))
	alice.waitSelector(`[data-testid=stats-run]`)

	step(t, "messages per user", func() {
		alice.do(chromedp.Click(chromedp.CSS(`[data-testid=stats-run]`)))
		rows := waitJS(alice, "the bars", `[...document.querySelectorAll('[data-testid=stat-row]')].map(e => ({key: e.dataset.key, value: e.dataset.value}))`,
			func(rs []statRow) error {
				if len(rs) != len(want) {
					return fmt.Errorf("%d rows, want %d", len(rs), len(want))
				}
				return nil
			})
		got := map[string]int64{}
		for _, r := range rows {
			n, err := strconv.ParseInt(r.Value, 10, 64)
			if err != nil {
				t.Fatalf("row %+v: %v", r, err)
			}
			got[r.Key] = n
		}
		if !maps.Equal(got, want) {
			t.Fatalf("bars %v, want %v", got, want)
		}
		// The SDK agrees with the page.
		cl := c.Dial(t, "alice")
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout*3)
		defer cancel()
		res, err := cl.Analytics(ctx, "messages-per-user", client.AnalyticsParams{})
		if err != nil {
			t.Fatal(err)
		}
		if sdk := resultCounts(t, res); !maps.Equal(sdk, want) {
			t.Fatalf("SDK %v, want %v", sdk, want)
		}
		alice.screenshot(filepath.Join("..", "bin", "screenshots"), "stats-bars", 1280, 800, "light")
	})

	step(t, "activity heatmap", func() {
		alice.do(chromedp.SetValue(chromedp.CSS(`[data-testid=stats-job]`), "activity"),
			chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid=stats-job]').dispatchEvent(new Event('change', {bubbles: true}))`),
			chromedp.Click(chromedp.CSS(`[data-testid=stats-run]`)))
		total := int64(0)
		for _, n := range want {
			total += n
		}
		waitJS(alice, "the heatmap", `[...document.querySelectorAll('[data-testid=heat-cell]')].map(e => +e.dataset.value)`,
			func(cells []int64) error {
				if len(cells) != 7*24 {
					return fmt.Errorf("%d cells, want 168", len(cells))
				}
				sum := int64(0)
				for _, n := range cells {
					sum += n
				}
				if sum != total {
					return fmt.Errorf("cells hold %d messages, want %d", sum, total)
				}
				return nil
			})
		for _, scheme := range []string{"light", "dark"} {
			alice.screenshot(filepath.Join("..", "bin", "screenshots"), "stats-heatmap", 1280, 800, scheme)
		}
	})

	step(t, "search", func() {
		// A message only this test sends, in a room of its own.
		cl := c.Dial(t, "bob")
		ctx, cancel := opContext()
		defer cancel()
		room := uniq("findme")
		sent, err := cl.Send(ctx, room, "the needle-in-a-haystack message")
		if err != nil {
			t.Fatal(err)
		}
		alice.do(chromedp.SendKeys(chromedp.CSS(`[data-testid=search-input]`), `needle-in-a-\w+`),
			chromedp.Click(chromedp.CSS(`[data-testid=search-run]`)))
		hits := waitJS(alice, "the search hit", `[...document.querySelectorAll('[data-testid=search-hit]')].map(e => ({room: e.dataset.room, seq: e.dataset.seq, user: e.dataset.user, text: e.querySelector('.text').textContent}))`,
			func(hs []searchHit) error {
				if len(hs) == 0 {
					return fmt.Errorf("no hits yet")
				}
				return nil
			})
		wantHit := searchHit{Room: room, Seq: strconv.FormatUint(sent.Seq, 10), User: "bob", Text: "the needle-in-a-haystack message"}
		if len(hits) != 1 || hits[0] != wantHit {
			t.Fatalf("hits %+v, want [%+v]", hits, wantHit)
		}
		alice.screenshot(filepath.Join("..", "bin", "screenshots"), "stats-search", 1280, 800, "light")
		alice.do(chromedp.Click(chromedp.CSS(`[data-testid=search-hit]`)))
		waitJS(alice, "the hit's room opens", fmt.Sprintf(`document.querySelector('[data-testid=message][data-seq="%d"][data-user=bob]') ? location.hash : ""`, sent.Seq),
			func(h string) error {
				if h != "#/room/"+room {
					return fmt.Errorf("at %q", h)
				}
				return nil
			})
	})
	alice.checkClean()
}
