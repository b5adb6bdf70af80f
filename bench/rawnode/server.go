package main

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/parleychat/parley/bench/rawproto"
)

// attemptTimeout bounds one proposal attempt, as in Parley's own proposer.
const attemptTimeout = 3 * time.Second

// server answers rawproto requests on behalf of the NodeHost.
type server struct {
	nh     *dragonboat.NodeHost
	shards []uint64
	log    *slog.Logger
}

func (s *server) serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go s.handle(c)
	}
}

// handle answers one connection's requests, one at a time.
func (s *server) handle(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	var buf, out []byte
	for {
		req, err := rawproto.ReadRequest(r, buf)
		if err != nil {
			return
		}
		buf = req.Payload[:0:cap(req.Payload)]
		var resp rawproto.Response
		switch req.Op {
		case rawproto.OpPropose:
			resp = s.propose(req.Shard, req.Payload)
		case rawproto.OpReady:
			resp = s.ready()
		default:
			resp = rawproto.Response{Status: rawproto.StatusError, Err: "unknown op"}
		}
		out = rawproto.AppendResponse(out[:0], resp)
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// propose commits payload on shard, retrying through elections and busy
// spells the way Parley's proposer does.
func (s *server) propose(shard uint64, payload []byte) rawproto.Response {
	session := s.nh.GetNoOPSession(shard)
	backoff := 10 * time.Millisecond
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
		res, err := s.nh.SyncPropose(ctx, session, payload)
		cancel()
		if err == nil {
			return rawproto.Response{Value: res.Value}
		}
		if !retryable(err) || time.Now().After(deadline) {
			return rawproto.Response{Status: rawproto.StatusError, Err: err.Error()}
		}
		<-time.After(backoff) // a retry's pause, as in chatcore.propose
		backoff = min(backoff*2, 250*time.Millisecond)
	}
}

// ready reports whether every shard has a leader.
func (s *server) ready() rawproto.Response {
	for _, sh := range s.shards {
		if _, _, ok, err := s.nh.GetLeaderID(sh); err != nil || !ok {
			return rawproto.Response{Value: 0}
		}
	}
	return rawproto.Response{Value: 1}
}

func retryable(err error) bool {
	return errors.Is(err, dragonboat.ErrShardNotReady) ||
		errors.Is(err, dragonboat.ErrSystemBusy) ||
		errors.Is(err, dragonboat.ErrTimeout) ||
		errors.Is(err, dragonboat.ErrAborted) ||
		errors.Is(err, dragonboat.ErrRejected) ||
		errors.Is(err, dragonboat.ErrCanceled) ||
		errors.Is(err, context.DeadlineExceeded)
}
