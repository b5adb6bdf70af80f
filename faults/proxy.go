package faults

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Delay is a delay that a fault can change while links use it.
type Delay struct{ d atomic.Int64 }

// Set sets the delay.
func (d *Delay) Set(v time.Duration) { d.d.Store(int64(v)) }

// Get returns the delay.
func (d *Delay) Get() time.Duration { return time.Duration(d.d.Load()) }

// queueLen bounds the packets or chunks in flight in one direction of a
// proxied link.
const queueLen = 1024

// delayed is a piece of data and when it may be passed on.
type delayed struct {
	b   []byte
	due time.Time
}

// pipe passes what read returns to write, each piece delay after it was
// read, in order. It ends when read or write fails and then calls done.
func pipe(read func([]byte) (int, error), write func([]byte) error, delay *Delay, done func()) {
	q := make(chan delayed, queueLen)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 64<<10)
			n, err := read(buf)
			if n > 0 {
				q <- delayed{buf[:n], time.Now().Add(delay.Get())}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		defer done()
		for p := range q {
			if wait := time.Until(p.due); wait > 0 {
				time.Sleep(wait) // the delay being simulated, not a synchronisation
			}
			if write(p.b) != nil {
				for range q {
				}
				return
			}
		}
	}()
}

// TCPProxy forwards TCP connections from its address to a target address,
// delaying the data each way by its Delay.
type TCPProxy struct {
	l      net.Listener
	target string
	delay  *Delay

	mu    sync.Mutex
	conns map[net.Conn]bool
}

// NewTCPProxy listens on addr and forwards to target.
func NewTCPProxy(addr, target string, delay *Delay) (*TCPProxy, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &TCPProxy{l: l, target: target, delay: delay, conns: make(map[net.Conn]bool)}
	go p.accept()
	return p, nil
}

// Addr returns the proxy's listening address.
func (p *TCPProxy) Addr() string { return p.l.Addr().String() }

func (p *TCPProxy) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		go p.serve(c)
	}
}

func (p *TCPProxy) serve(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, up) {
		return
	}
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			c.Close()
			up.Close()
			p.untrack(c, up)
		})
	}
	writer := func(dst net.Conn) func([]byte) error {
		return func(b []byte) error { _, err := dst.Write(b); return err }
	}
	pipe(c.Read, writer(up), p.delay, closeBoth)
	pipe(up.Read, writer(c), p.delay, closeBoth)
}

func (p *TCPProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	return true
}

func (p *TCPProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

// Close stops listening and closes every forwarded connection.
func (p *TCPProxy) Close() {
	p.l.Close()
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

// UDPProxy forwards UDP datagrams (QUIC) from its address to a target
// address and back, delaying each by its Delay. Each client address gets
// a socket of its own towards the target.
type UDPProxy struct {
	pc     net.PacketConn
	target *net.UDPAddr
	delay  *Delay

	mu       sync.Mutex
	sessions map[string]*udpSession
	done     chan struct{} // closed by Close
}

// udpSession is one client's socket towards the target and the queue of
// its datagrams towards the target.
type udpSession struct {
	up *net.UDPConn
	q  chan delayed
}

// NewUDPProxy listens on addr and forwards to target.
func NewUDPProxy(addr, target string, delay *Delay) (*UDPProxy, error) {
	ta, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	p := &UDPProxy{pc: pc, target: ta, delay: delay, sessions: make(map[string]*udpSession), done: make(chan struct{})}
	go p.serve()
	return p, nil
}

// Addr returns the proxy's listening address.
func (p *UDPProxy) Addr() string { return p.pc.LocalAddr().String() }

func (p *UDPProxy) serve() {
	for {
		buf := make([]byte, 64<<10)
		n, from, err := p.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		s, err := p.session(from)
		if err != nil {
			continue
		}
		select {
		case s.q <- delayed{buf[:n], time.Now().Add(p.delay.Get())}:
		default: // a full queue drops, as a congested link would
		}
	}
}

// session returns the session of client from, making it on first use.
func (p *UDPProxy) session(from net.Addr) (*udpSession, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions == nil {
		return nil, errors.New("closed")
	}
	if s := p.sessions[from.String()]; s != nil {
		return s, nil
	}
	up, err := net.DialUDP("udp", nil, p.target)
	if err != nil {
		return nil, err
	}
	s := &udpSession{up: up, q: make(chan delayed, queueLen)}
	p.sessions[from.String()] = s
	go func() { // towards the target
		for {
			select {
			case d := <-s.q:
				if wait := time.Until(d.due); wait > 0 {
					time.Sleep(wait) // the delay being simulated
				}
				up.Write(d.b)
			case <-p.done:
				return
			}
		}
	}()
	back := func(b []byte) error { _, err := p.pc.WriteTo(b, from); return err }
	pipe(up.Read, back, p.delay, func() {})
	return s, nil
}

// Close stops the proxy and every session.
func (p *UDPProxy) Close() {
	p.mu.Lock()
	sessions := p.sessions
	p.sessions = nil
	p.mu.Unlock()
	if sessions == nil {
		return
	}
	close(p.done)
	p.pc.Close()
	for _, s := range sessions {
		s.up.Close()
	}
}
