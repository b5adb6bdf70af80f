package daemon

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/quic-go/quic-go"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/internal/buildinfo"
)

// metrics is a server's Prometheus registry, served on --http at /metrics.
// Events (proposals, sends, deliveries, refusals) are counted as they
// happen: chatcore reports them through its Observer interface, which
// metrics implements, so that chatcore does not depend on Prometheus.
// Levels (shards, subscriptions, sessions, bytes, disk) are read from the
// node when Prometheus scrapes, by a collector.
type metrics struct {
	reg *prometheus.Registry

	proposals       *prometheus.CounterVec
	proposalSeconds prometheus.Histogram
	sends           *prometheus.CounterVec
	deliveries      *prometheus.CounterVec
	rateLimited     prometheus.Counter

	// The counters every message touches, their labels resolved once:
	// a lookup by label hashes and locks, on every event.
	proposalsOK, proposalsErr          prometheus.Counter
	sendsOK, sendsDuplicate            prometheus.Counter
	deliveredMemory, deliveredFromDisk prometheus.Counter

	// Bytes of QUIC connections that have ended; live ones are read at
	// scrape time.
	closedSent, closedReceived atomic.Uint64
}

var _ chatcore.Observer = (*metrics)(nil)

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		proposals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_proposals_total",
			Help: "Raft proposals made by this node, retries included, by result (ok or error).",
		}, []string{"result"}),
		proposalSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "parley_proposal_duration_seconds",
			Help:    "Time from proposing an entry to its commit and local apply, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_sends_total",
			Help: "Messages sent through this node, by result: ok, duplicate (a retried message id) or the error code.",
		}, []string{"result"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_delivered_messages_total",
			Help: "Messages handed to this node's subscribers, by source: memory (near the head) or disk (a subscriber behind).",
		}, []string{"source"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_rate_limited_requests_total",
			Help: "Requests refused because their connection exceeded its request rate.",
		}),
	}
	bi := buildinfo.Get()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "parley_build_info",
		Help: "Always 1; the labels say which build runs.",
		ConstLabels: prometheus.Labels{"version": bi.Version, "commit": bi.Commit, "goversion": bi.GoVersion,
			"apply_rules_version": strconv.Itoa(chatcore.ApplyRulesVersion)},
	})
	build.Set(1)
	m.reg.MustRegister(m.proposals, m.proposalSeconds, m.sends, m.deliveries, m.rateLimited, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.proposalsOK, m.proposalsErr = m.proposals.WithLabelValues("ok"), m.proposals.WithLabelValues("error")
	m.sendsOK, m.sendsDuplicate = m.sends.WithLabelValues("ok"), m.sends.WithLabelValues("duplicate")
	m.deliveredMemory, m.deliveredFromDisk = m.deliveries.WithLabelValues("memory"), m.deliveries.WithLabelValues("disk")
	return m
}

// Proposed implements chatcore.Observer.
func (m *metrics) Proposed(_ uint64, took time.Duration, err error) {
	if err != nil {
		m.proposalsErr.Inc()
	} else {
		m.proposalsOK.Inc()
	}
	m.proposalSeconds.Observe(took.Seconds())
}

// Sent implements chatcore.Observer.
func (m *metrics) Sent(res chatcore.SendResult, err error) {
	switch {
	case err != nil:
		m.sends.WithLabelValues(string(wireError(err).Code)).Inc()
	case res.Duplicate:
		m.sendsDuplicate.Inc()
	default:
		m.sendsOK.Inc()
	}
}

// Delivered implements chatcore.Observer.
func (m *metrics) Delivered(n int, fromDisk bool) {
	if fromDisk {
		m.deliveredFromDisk.Add(float64(n))
	} else {
		m.deliveredMemory.Add(float64(n))
	}
}

// connClosed adds the traffic of an ended connection to the totals.
func (m *metrics) connClosed(st quic.ConnectionStats) {
	m.closedSent.Add(st.BytesSent)
	m.closedReceived.Add(st.BytesReceived)
}

// serverCollector reads a running server's levels at scrape time.
type serverCollector struct {
	s *Server

	shardLeader, shardIsLeader, shardTerm, shardLastLog, shardApplied *prometheus.Desc

	sessions, onlineUsers, subscriptions, subLagMax, subLagSum *prometheus.Desc
	bytesSent, bytesReceived, stateDB, raftLog                 *prometheus.Desc
}

func newServerCollector(s *Server) *serverCollector {
	shard := []string{"shard"}
	return &serverCollector{
		s:             s,
		shardLeader:   prometheus.NewDesc("parley_shard_leader_id", "The node id of the shard's leader as this replica knows it, 0 if none.", shard, nil),
		shardIsLeader: prometheus.NewDesc("parley_shard_is_leader", "1 if this node leads the shard.", shard, nil),
		shardTerm:     prometheus.NewDesc("parley_shard_term", "The shard's Raft term as this replica knows it.", shard, nil),
		shardLastLog:  prometheus.NewDesc("parley_shard_last_log_index", "The index of the last entry of the shard in this node's Raft log, committed or not.", shard, nil),
		shardApplied:  prometheus.NewDesc("parley_shard_applied_index", "The index of the last entry of the shard applied to this node's state db.", shard, nil),
		sessions:      prometheus.NewDesc("parley_sessions", "Open QUIC connections to this node (clients and other nodes).", nil, nil),
		onlineUsers:   prometheus.NewDesc("parley_online_users", "Users with a live session on this node.", nil, nil),
		subscriptions: prometheus.NewDesc("parley_subscriptions", "Open room subscriptions on this node.", nil, nil),
		subLagMax:     prometheus.NewDesc("parley_subscription_lag_max_messages", "Messages the most behind subscription has yet to deliver.", nil, nil),
		subLagSum:     prometheus.NewDesc("parley_subscription_lag_sum_messages", "Messages every subscription together has yet to deliver.", nil, nil),
		bytesSent:     prometheus.NewDesc("parley_quic_sent_bytes_total", "Bytes sent on QUIC connections to this node's client port.", nil, nil),
		bytesReceived: prometheus.NewDesc("parley_quic_received_bytes_total", "Bytes received on QUIC connections to this node's client port.", nil, nil),
		stateDB:       prometheus.NewDesc("parley_state_db_bytes", "Size on disk of the node's state db.", nil, nil),
		raftLog:       prometheus.NewDesc("parley_raft_log_bytes", "Size on disk of the node's Raft log and snapshots.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *serverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.shardLeader, c.shardIsLeader, c.shardTerm, c.shardLastLog, c.shardApplied,
		c.sessions, c.onlineUsers, c.subscriptions, c.subLagMax, c.subLagSum, c.bytesSent, c.bytesReceived, c.stateDB, c.raftLog} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *serverCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, st := range s.node.ShardStats() {
		id := strconv.FormatUint(st.Shard, 10)
		gauge(c.shardLeader, float64(st.LeaderID), id)
		gauge(c.shardIsLeader, boolFloat(st.IsLeader), id)
		gauge(c.shardTerm, float64(st.Term), id)
		gauge(c.shardLastLog, float64(st.LastLog), id)
		gauge(c.shardApplied, float64(st.Applied), id)
	}
	sent, received := s.metrics.closedSent.Load(), s.metrics.closedReceived.Load()
	s.mu.Lock()
	open := len(s.conns)
	for conn := range s.conns {
		st := conn.ConnectionStats()
		sent += st.BytesSent
		received += st.BytesReceived
	}
	s.mu.Unlock()
	gauge(c.sessions, float64(open))
	gauge(c.onlineUsers, float64(len(s.presence.list())))
	sub := s.node.SubscriptionStats()
	gauge(c.subscriptions, float64(sub.Open))
	gauge(c.subLagMax, float64(sub.MaxLag))
	gauge(c.subLagSum, float64(sub.TotalLag))
	ch <- prometheus.MustNewConstMetric(c.bytesSent, prometheus.CounterValue, float64(sent))
	ch <- prometheus.MustNewConstMetric(c.bytesReceived, prometheus.CounterValue, float64(received))
	stateDB, raftLog := s.node.DiskUsage()
	gauge(c.stateDB, float64(stateDB))
	gauge(c.raftLog, float64(raftLog))
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// metricsHandler serves the registry in the Prometheus text format.
func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{ErrorLog: slogPromLogger{s.log}})
}

// slogPromLogger passes promhttp's errors to the server's log.
type slogPromLogger struct{ log *slog.Logger }

func (l slogPromLogger) Println(v ...any) { l.log.Error("metrics", "err", fmt.Sprint(v...)) }
