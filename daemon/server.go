package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/discovery"
	"github.com/parleychat/parley/mapreduce"
	"github.com/parleychat/parley/transport"
)

// Server is a running parleyd: a chatcore node, its QUIC listener for
// clients and other nodes, and its HTTP endpoint.
type Server struct {
	cfg  Config
	log  *slog.Logger
	node *chatcore.Node
	// frames are the encoded events of the rooms with subscribers here.
	frames frameCache

	udp        net.PacketConn
	ql         *quic.Listener
	clientAddr string
	httpSrv    *http.Server
	httpAddr   string
	httpsSrv   *http.Server
	httpsAddr  string
	nodeTLS    tlsMaterial

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	conns   map[*quic.Conn]struct{}
	sockets map[*webCarrier]struct{}
	// connCap and logins bound what unauthenticated clients can cost.
	connCap *connCap
	logins  *loginGuard
	disk    *diskGuard

	// presence counts this node's live user sessions; view merges every
	// node's, asked through peers.
	presence *localPresence
	typing   *localTyping
	view     *presenceView
	peers    *peers
	relays   *relays
	metrics  *metrics
	// caughtUp is set once /readyz found every hosted shard caught up.
	caughtUp atomic.Bool
	// dns is the DNS service, nil unless Config.DNS is set.
	dns *dnsService
	// mdns answers mDNS queries for this node, nil unless Config.MDNS.
	mdns *discovery.Announcer

	// analytics coordinates this node's analytics jobs and runs the tasks
	// of any node's.
	analytics *mapreduce.Engine
}

type tlsMaterial struct {
	cert, key, ca []byte
}

// Start starts a server: it binds the client listener first (so a port 0
// is known before the node publishes its address), opens, bootstraps or
// joins the node, and then serves.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	udp, err := net.ListenPacket("udp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	_, port, _ := net.SplitHostPort(udp.LocalAddr().String())
	clientAddr := net.JoinHostPort(cfg.Advertise, port)
	raftAddr, err := cfg.advertised(cfg.Raft)
	if err != nil {
		udp.Close()
		return nil, err
	}
	profile, err := chatcore.ParseProfile(cfg.Profile)
	if err != nil {
		udp.Close()
		return nil, err
	}
	// The HTTP listener is bound before the node starts too, so that its
	// address (port 0 resolved) is published in the registry.
	var hl net.Listener
	var httpAddr string
	if cfg.HTTP != "-" {
		if hl, err = net.Listen("tcp", cfg.HTTP); err != nil {
			udp.Close()
			return nil, fmt.Errorf("http: %w", err)
		}
		_, hport, _ := net.SplitHostPort(hl.Addr().String())
		httpAddr = net.JoinHostPort(cfg.Advertise, hport)
	}
	var tl net.Listener
	var httpsAddr string
	if cfg.HTTPS != "" {
		if tl, err = net.Listen("tcp", cfg.HTTPS); err != nil {
			udp.Close()
			if hl != nil {
				hl.Close()
			}
			return nil, fmt.Errorf("https: %w", err)
		}
		_, tport, _ := net.SplitHostPort(tl.Addr().String())
		httpsAddr = net.JoinHostPort(cfg.Advertise, tport)
	}
	closeListeners := func() {
		udp.Close()
		for _, l := range []net.Listener{hl, tl} {
			if l != nil {
				l.Close()
			}
		}
	}
	ccfg := chatcore.Config{
		DataDir: cfg.DataDir, Name: cfg.Name,
		RaftAddr: raftAddr, RaftListen: cfg.Raft, ClientAddr: clientAddr, HTTPAddr: httpAddr, HTTPSAddr: httpsAddr,
		Profile: profile, Shards: cfg.Shards, Replicas: cfg.Replicas, DeadAfter: cfg.DeadAfter, Logger: cfg.Logger, PasswordChecks: cfg.PasswordChecks,
		Argon: cfg.ArgonProfile, Quotas: cfg.Quotas,
	}
	m := newMetrics()
	ccfg.Observer = m
	node, err := startNode(ctx, cfg, ccfg)
	if err != nil {
		closeListeners()
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, node: node, clientAddr: clientAddr, conns: make(map[*quic.Conn]struct{}),
		presence: newLocalPresence(), typing: newLocalTyping(), sockets: make(map[*webCarrier]struct{}), metrics: m,
		connCap: newConnCap(cfg.MaxConns, cfg.MaxConnsPerAddr), logins: newLoginGuard(loginGuardEntries),
		disk: newDiskGuard(cfg.DataDir, cfg.MinFreeDisk, cfg.Logger)}
	m.reg.MustRegister(newServerCollector(s))
	s.view = &presenceView{srv: s}
	s.peers = newPeers(s)
	node.SetRegistryPeer(registryPeer{s.peers})
	s.relays = newRelays(s)
	s.analytics, err = mapreduce.New(mapreduce.Config{
		Node: node, Caller: s.peers, Dir: chatcore.DataLayout(cfg.DataDir).Analytics(), Logger: cfg.Logger,
		ScanDelay: cfg.AnalyticsScanDelay, ReduceDelay: cfg.AnalyticsReduceDelay, MemBytes: cfg.AnalyticsMemBytes, BackupAfter: cfg.AnalyticsBackupAfter,
	})
	if err != nil {
		closeListeners()
		node.Close()
		return nil, err
	}
	if err := s.listen(udp, hl); err != nil {
		if tl != nil {
			tl.Close()
		}
		s.analytics.Close()
		node.Close()
		return nil, err
	}
	if tl != nil {
		if err := s.serveHTTPS(tl); err != nil {
			s.Close()
			return nil, err
		}
	}
	if cfg.DNS != "" {
		if s.dns, err = s.startDNS(cfg.DNS, cfg.DNSDomain); err != nil {
			s.Close()
			return nil, err
		}
		s.log.Info("dns serving", "addr", s.dns.addr(), "zone", cfg.DNSDomain)
	}
	if cfg.MDNS {
		if s.mdns, err = s.announce(); err != nil {
			s.Close()
			return nil, err
		}
	}
	s.log.Info("parleyd serving", "node", node.ID(), "cluster", node.ClusterID(),
		"clients", clientAddr, "raft", raftAddr, "http", s.httpAddr)
	return s, nil
}

func (s *Server) listen(udp net.PacketConn, hl net.Listener) error {
	files := chatcore.NodeTLS(s.cfg.DataDir)
	var m tlsMaterial
	for _, f := range []struct {
		path string
		dst  *[]byte
	}{{files.Cert, &m.cert}, {files.Key, &m.key}, {files.CA, &m.ca}} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			udp.Close()
			if hl != nil {
				hl.Close()
			}
			return fmt.Errorf("tls: %w", err)
		}
		*f.dst = b
	}
	s.nodeTLS = m
	conf, err := transport.ServerTLSConfig(m.cert, m.key, m.ca)
	if err == nil {
		s.ql, err = transport.ListenPacket(udp, conf)
	}
	if err != nil {
		udp.Close()
		if hl != nil {
			hl.Close()
		}
		return err
	}
	s.udp = udp
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.disk.run(s.ctx.Done())
	}()
	go func() {
		defer s.wg.Done()
		s.acceptLoop()
	}()
	if hl != nil {
		s.httpAddr = hl.Addr().String()
		s.httpSrv = &http.Server{Handler: s.httpHandler(), ReadHeaderTimeout: 5 * time.Second}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.httpSrv.Serve(hl); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("http", "err", err)
			}
		}()
	}
	return nil
}

func (s *Server) acceptLoop() {
	for {
		conn, err := s.ql.Accept(s.ctx)
		if err != nil {
			return
		}
		ip := sourceIP(conn.RemoteAddr())
		if err := s.connCap.acquire(ip); err != nil {
			s.log.Debug("connection refused", "remote", conn.RemoteAddr().String(), "err", err)
			conn.CloseWithError(closeBusy, err.Error())
			continue
		}
		s.mu.Lock()
		s.conns[conn] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
				s.metrics.connClosed(conn.ConnectionStats())
				s.connCap.release(ip)
			}()
			qc := newQUICCarrier(conn)
			qc.helloTimeout = s.cfg.HelloTimeout
			newSession(s, qc).serve()
		}()
	}
}

// Removed is closed once an admin removed this node from the cluster: it no
// longer serves, and the process should stop.
func (s *Server) Removed() <-chan struct{} { return s.node.Removed() }

// Node returns the server's chatcore node.
func (s *Server) Node() *chatcore.Node { return s.node }

// ClientAddr returns the advertised client (QUIC) address.
func (s *Server) ClientAddr() string { return s.clientAddr }

// Advertise returns the host the node advertises to other nodes and clients.
func (s *Server) Advertise() string { return s.cfg.Advertise }

// DNSAddr returns the bound address of the DNS service, or "" if it is off.
func (s *Server) DNSAddr() string {
	if s.dns == nil {
		return ""
	}
	return s.dns.addr()
}

// HTTPSAddr returns the bound HTTPS address, or "" if HTTPS is off.
func (s *Server) HTTPSAddr() string { return s.httpsAddr }

// HTTPAddr returns the bound HTTP address, or "" if HTTP is off.
func (s *Server) HTTPAddr() string { return s.httpAddr }

// Close stops serving, closes every connection and stops the node. The
// connections are closed before the socket under them, so every client is
// told at once and moves to another node instead of waiting out its idle
// timeout.
func (s *Server) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	if s.httpSrv != nil {
		s.httpSrv.Close()
	}
	s.relays.closeAll()
	if s.analytics != nil {
		s.analytics.Close()
	}
	if s.httpsSrv != nil {
		s.httpsSrv.Close()
	}
	if s.dns != nil {
		s.dns.close()
	}
	if s.mdns != nil {
		s.mdns.Close()
	}
	s.peers.close()
	s.mu.Lock()
	for c := range s.conns {
		c.CloseWithError(closeShutdown, "server shutting down")
	}
	for w := range s.sockets {
		w.close(closeKindShutdown, "server shutting down", false)
	}
	s.mu.Unlock()
	if s.ql != nil {
		s.ql.Close()
	}
	s.wg.Wait()
	if s.udp != nil {
		s.udp.Close()
	}
	return s.node.Close()
}
