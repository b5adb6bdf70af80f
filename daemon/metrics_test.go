package daemon_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/daemon/daemontest"
	"github.com/parleychat/parley/placement"
)

// scrape reads /metrics from addr: the raw text and its parsed families.
func scrape(t *testing.T, addr string) ([]byte, map[string]*dto.MetricFamily) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v\n%s", resp.StatusCode, err, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return body, fams
}

// value returns the sum of the family's samples whose labels include want
// (name=value pairs), for counters, gauges and histograms (their count).
func value(fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	var sum float64
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(want); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == want[i] && l.GetValue() == want[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

// The metrics of a real node pass promtool's checks, and the counters move
// when the node is used.
func TestMetricsUnderLoad(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install Debian's prometheus package (see .ci/run)")
	}
	c := daemontest.StartCluster(t, 1, daemontest.Options{Shards: 2})
	httpAddr := c.Server(0).HTTPAddr()
	_, before := scrape(t, httpAddr)

	cl := dialAs(t, "alice", c.Addrs()...)
	const n = 40
	for i := range n {
		if _, err := cl.Send(opCtx(t), "general", fmt.Sprintf("m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	sub, err := cl.Subscribe(opCtx(t), "general", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for range n {
		select {
		case <-sub.C():
		case <-time.After(30 * time.Second):
			t.Fatal("subscription delivered too few messages")
		}
	}

	var text []byte
	var after map[string]*dto.MetricFamily
	chatcoretest.WaitFor(t, 30*time.Second, func() error {
		text, after = scrape(t, httpAddr)
		for _, m := range []struct {
			name   string
			labels []string
			min    float64
		}{
			{"parley_sends_total", []string{"result", "ok"}, n},
			{"parley_proposals_total", []string{"result", "ok"}, 1},
			{"parley_proposal_duration_seconds", nil, 1},
			{"parley_delivered_messages_total", nil, n},
			{"parley_quic_received_bytes_total", nil, 1},
			{"parley_quic_sent_bytes_total", nil, 1},
		} {
			if got, was := value(after, m.name, m.labels...), value(before, m.name, m.labels...); got-was < m.min {
				return fmt.Errorf("%s%v went from %v to %v, want +%v", m.name, m.labels, was, got, m.min)
			}
		}
		for _, m := range []string{"parley_subscriptions", "parley_sessions", "parley_online_users"} {
			if value(after, m) < 1 {
				return fmt.Errorf("%s = %v with a subscribed client", m, value(after, m))
			}
		}
		return nil
	})
	reg := fmt.Sprint(placement.RegistryShard)
	for _, m := range []string{"parley_shard_last_log_index", "parley_shard_applied_index", "parley_shard_term", "parley_shard_is_leader"} {
		if value(after, m, "shard", reg) < 1 {
			t.Errorf("%s{shard=%s} = %v on a single-node cluster", m, reg, value(after, m, "shard", reg))
		}
	}
	for _, m := range []string{"parley_state_db_bytes", "parley_raft_log_bytes", "go_goroutines", "parley_build_info"} {
		if value(after, m) <= 0 {
			t.Errorf("%s = %v", m, value(after, m))
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	} else if s := strings.TrimSpace(string(out)); s != "" {
		t.Logf("promtool: %s", s)
	}
}
