package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

// handle serves one request and writes its response.
func (ss *session) handle(ctx context.Context, req transport.Request) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if nodeOps[req.Op] && !(ss.peerNode && ss.user == "") {
		ss.respond(req.ID, nil, transport.Errorf(transport.CodeForbidden, "%s is for nodes of the cluster only", req.Op))
		return
	}
	if ss.user == "" && req.Op != transport.OpAdmit && !(ss.peerNode && (req.Op == transport.OpPresence || req.Op == transport.OpForward || nodeOps[req.Op])) {
		ss.respond(req.ID, nil, transport.Errorf(transport.CodeUnauthorized, "log in first: %s needs a user", req.Op))
		return
	}
	if e := ss.srv.disk.refuse(); e != nil && writes(req.Op) {
		ss.respond(req.ID, nil, e)
		return
	}
	if body, ok, err := ss.handleAnalytics(ctx, req); ok {
		if err != nil {
			ss.respond(req.ID, nil, wireError(err))
			return
		}
		ss.respond(req.ID, body, nil)
		return
	}
	body, err := ss.dispatch(ctx, ss.user, req)
	if err != nil {
		ss.respond(req.ID, nil, wireError(err))
		return
	}
	ss.respond(req.ID, body, nil)
}

// dispatch serves req for user and returns the response body.
func (ss *session) dispatch(ctx context.Context, user string, req transport.Request) (body any, err error) {
	switch req.Op {
	case transport.OpSend:
		var r transport.SendRequest
		if err = ss.decodeBody(req, &r); err == nil {
			body, err = ss.send(ctx, user, r)
		}
	case transport.OpHistory:
		var r transport.HistoryRequest
		if err = ss.decodeBody(req, &r); err == nil {
			body, err = ss.history(ctx, user, r)
		}
	case transport.OpSubscribe:
		var r transport.SubscribeRequest
		if err = ss.decodeBody(req, &r); err == nil {
			body, err = ss.subscribe(ctx, user, r)
		}
	case transport.OpStatus:
		body, err = ss.status(ctx)
	case transport.OpAdmin:
		var r transport.AdminRequest
		if err = ss.decodeBody(req, &r); err == nil {
			body, err = ss.admin(ctx, r)
		}
	case transport.OpAccount:
		var r transport.AccountRequest
		if err = ss.decodeBody(req, &r); err == nil {
			body, err = ss.account(ctx, r)
		}
	case transport.OpJoin:
		var r transport.JoinRoomRequest
		if err = ss.decodeBody(req, &r); err == nil {
			err = ss.joinRoom(ctx, user, r)
		}
	case transport.OpLeave:
		var r transport.LeaveRoomRequest
		if err = ss.decodeBody(req, &r); err == nil {
			err = ss.leaveRoom(ctx, user, r)
		}
	case transport.OpRead:
		var r transport.ReadRequest
		if err = ss.decodeBody(req, &r); err == nil {
			body, err = ss.markRead(ctx, user, r)
		}
	case transport.OpTyping:
		var r transport.TypingRequest
		if err = ss.decodeBody(req, &r); err == nil {
			err = ss.typingNotice(r)
		}
	case transport.OpRooms:
		var r transport.RoomsRequest
		if err = ss.decodeBody(req, &r); err == nil {
			body, err = ss.rooms(ctx, user, r)
		}
	case transport.OpWho:
		var r transport.WhoRequest
		if err = ss.decodeBody(req, &r); err == nil {
			body, err = ss.who(ctx, user, r)
		}
	case transport.OpPresence:
		var r transport.PresenceRequest
		if err = ss.decodeBody(req, &r); err == nil {
			body, err = ss.localPresence(r)
		}
	case transport.OpRegistryMember:
		var r transport.RegistryMemberRequest
		if err = ss.decodeBody(req, &r); err == nil {
			body, err = ss.registryMember(ctx, r)
		}
	case transport.OpForward:
		var r transport.ForwardedRequest
		if err = ss.decodeBody(req, &r); err == nil {
			body, err = ss.forwarded(ctx, req.ID, r)
		}
	case transport.OpExport:
		var r transport.ExportRequest
		if err = ss.decodeBody(req, &r); err == nil {
			body, err = ss.export(ctx, user, r)
		}
	case transport.OpBackupRead:
		var r transport.BackupReadRequest
		if err = ss.decodeBody(req, &r); err == nil {
			body, err = ss.backupRead(ctx, user, r)
		}
	case transport.OpImport:
		var r transport.ImportRequest
		if err = ss.decodeBody(req, &r); err == nil {
			body, err = ss.importBatch(ctx, user, r)
		}
	case transport.OpAdmit:
		var r transport.AdmitRequest
		if err = ss.decodeBody(req, &r); err == nil {
			body, err = ss.join(ctx, r)
		}
	default:
		err = transport.Errorf(transport.CodeInvalid, "unknown operation %q", req.Op)
	}
	return body, err
}

func (ss *session) decodeBody(req transport.Request, v any) error {
	if err := ss.c.decode(req.Body, v); err != nil {
		return transport.Errorf(transport.CodeInvalid, "%s: %v", req.Op, err)
	}
	return nil
}

func (ss *session) send(ctx context.Context, user string, r transport.SendRequest) (transport.SendResponse, error) {
	if resp, done, err := forwardIfRemote[transport.SendResponse](ctx, ss.srv, r.Room, user, transport.OpSend, r); done {
		return resp, err
	}
	res, err := ss.srv.node.Send(ctx, chatcore.SendParams{Room: r.Room, User: user, ID: r.ID, Text: r.Text})
	if err != nil {
		return transport.SendResponse{}, err
	}
	return transport.SendResponse{Room: res.Room, Seq: res.Seq, ID: res.ID, TS: res.TS, Duplicate: res.Duplicate}, nil
}

func (ss *session) history(ctx context.Context, user string, r transport.HistoryRequest) (transport.HistoryResponse, error) {
	if resp, done, err := forwardIfRemote[transport.HistoryResponse](ctx, ss.srv, r.Room, user, transport.OpHistory, r); done {
		return resp, err
	}
	if r.MinSeq > 0 {
		if err := ss.srv.node.WaitApplied(ctx, r.Room, user, r.MinSeq); err != nil {
			return transport.HistoryResponse{}, err
		}
	}
	msgs, last, err := ss.srv.node.History(ctx, r.Room, user, chatcore.HistoryQuery{From: r.From, Limit: r.Limit, Last: r.Last})
	if err != nil {
		return transport.HistoryResponse{}, err
	}
	return transport.HistoryResponse{Messages: msgs, LastSeq: last}, nil
}

func (ss *session) status(ctx context.Context) (transport.StatusResponse, error) {
	st, err := ss.srv.node.Status(ctx)
	if err != nil {
		return transport.StatusResponse{}, err
	}
	recs := make([]chatcore.NodeRecord, len(st.Nodes))
	for i, n := range st.Nodes {
		recs[i] = n.NodeRecord
	}
	up := ss.srv.probeNodes(ctx, recs)
	out := transport.StatusResponse{}
	// A node that does not answer is down, whatever its last heartbeat
	// says: it is never shown as a leader.
	shownUp := make(map[uint64]bool)
	for _, n := range st.Nodes {
		shownUp[n.ID] = up[n.ID] && n.Up
		leaders := n.Leaders
		if !shownUp[n.ID] {
			leaders = 0
		}
		out.Nodes = append(out.Nodes, transport.NodeInfo{
			ID: n.ID, Name: n.Name, Addr: n.ClientAddr, HTTP: n.HTTPAddr, HTTPS: n.HTTPSAddr, Up: shownUp[n.ID],
			State: n.State, Voters: n.Voters, Leaders: leaders,
		})
	}
	for _, s := range st.Shards {
		leader := s.Leader
		if !shownUp[leader] {
			leader = 0
		}
		out.Shards = append(out.Shards, transport.ShardStatus{
			ID: s.ID, Leader: leader, Term: s.Term, Replicas: s.Replicas, NonVoting: s.NonVoting, Wanted: s.Wanted,
		})
	}
	return out, nil
}

// probeNodes reports which nodes answer a QUIC handshake on their client
// address within a second. This node is up by definition.
func (s *Server) probeNodes(ctx context.Context, nodes []chatcore.NodeRecord) map[uint64]bool {
	conf, err := transport.NodeClientTLSConfig(s.nodeTLS.cert, s.nodeTLS.key, s.nodeTLS.ca)
	up := make(map[uint64]bool)
	if err != nil {
		up[s.node.ID()] = true
		return up
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range nodes {
		if n.ID == s.node.ID() {
			continue // marked after the probes: they write up concurrently
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			conn, err := transport.Dial(pctx, n.ClientAddr, conf)
			if err != nil {
				return
			}
			conn.CloseWithError(closeNormal, "probe")
			mu.Lock()
			up[n.ID] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	up[s.node.ID()] = true
	return up
}

func (ss *session) join(ctx context.Context, r transport.AdmitRequest) (transport.AdmitResponse, error) {
	node := ss.srv.node
	if err := node.CheckJoinToken(ctx, r.Token); err != nil {
		ss.log.Warn("join refused", "name", r.Name, "err", err)
		return transport.AdmitResponse{}, err
	}
	if err := checkApplyVersion("joining node", r.ApplyVersion); err != nil {
		ss.log.Warn("join refused", "name", r.Name, "err", err)
		return transport.AdmitResponse{}, err
	}
	if err := nameFree(node, r.Name, r.RaftAddr); err != nil {
		ss.log.Warn("join refused", "name", r.Name, "err", err)
		return transport.AdmitResponse{}, err
	}
	adm, err := node.Admit(ctx, chatcore.AdmitRequest{Name: r.Name, RaftAddr: r.RaftAddr, ClientAddr: r.ClientAddr,
		HTTPAddr: r.HTTPAddr, HTTPSAddr: r.HTTPSAddr, PublicKey: r.PublicKey, Token: r.Token})
	if err != nil {
		return transport.AdmitResponse{}, err
	}
	ss.log.Info("admitted node", "id", adm.NodeID, "name", r.Name, "raft", r.RaftAddr)
	return transport.AdmitResponse{NodeID: adm.NodeID, ClusterID: adm.ClusterID, CertPEM: adm.NodeCertPEM, CAPEM: adm.CACertPEM}, nil
}
