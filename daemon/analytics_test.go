package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley/transport"
)

// TestTaskOpsAreForNodesOnly: the node-to-node analytics operations are
// refused to users and to anonymous sessions without a node certificate,
// and served to a node.
func TestTaskOpsAreForNodesOnly(t *testing.T) {
	srv := startServer(t)
	rc, _ := dialRaw(t, srv, alice)
	anon, _ := dialRaw(t, srv, transport.Hello{Version: transport.ProtocolVersion})
	bodies := map[string]any{
		transport.OpMRTask:   transport.TaskRequest{JobID: "00112233445566778899aabb", Attempt: 1, Kind: transport.TaskMap, Job: "messages-per-user", Partitions: 1},
		transport.OpMRStatus: transport.TaskStatusRequest{JobID: "00112233445566778899aabb"},
		transport.OpMRFetch:  transport.FetchRequest{JobID: "00112233445566778899aabb", Attempt: 1},
		transport.OpMRDrop:   transport.DropRequest{JobID: "00112233445566778899aabb"},
		// A user must not read another pair's room's cut by claiming All.
		transport.OpMRCut:    transport.CutRequest{Room: "dm.bob.carol", User: "alice", All: true},
		transport.OpMRPoll:   transport.ForwardRequest{User: "bob", JobID: "1-00112233445566778899aabb"},
		transport.OpMRCancel: transport.ForwardRequest{User: "bob", JobID: "1-00112233445566778899aabb"},
	}
	id := uint64(0)
	for op, body := range bodies {
		for who, c := range map[string]*rawConn{"a user": rc, "an anonymous peer": anon} {
			id++
			if resp := c.call(id, op, body); resp.Error == nil || resp.Error.Code != transport.CodeForbidden {
				t.Errorf("%s calls %s: %+v, want forbidden", who, op, resp.Error)
			}
		}
	}
	// The node itself, with its certificate, is served.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var st transport.TaskStatusResponse
	req := transport.TaskStatusRequest{JobID: "00112233445566778899aabb", Attempts: []uint64{7}}
	if err := srv.peers.Call(ctx, srv.Node().ID(), transport.OpMRStatus, req, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Tasks) != 1 || st.Tasks[0].State != transport.TaskUnknown {
		t.Fatalf("status of an unknown attempt: %+v", st)
	}
	// A node's bad task is refused as invalid, and changes nothing.
	bad := transport.TaskRequest{JobID: "../../etc", Attempt: 1, Kind: transport.TaskMap, Job: "messages-per-user", Partitions: 1}
	err := srv.peers.Call(ctx, srv.Node().ID(), transport.OpMRTask, bad, nil)
	if transport.CodeOf(err) != transport.CodeInvalid {
		t.Fatalf("a task with a bad job id: %v, want invalid", err)
	}
	// A node's cut of a bad room name is refused as invalid.
	var cut transport.CutResponse
	err = srv.peers.Call(ctx, srv.Node().ID(), transport.OpMRCut, transport.CutRequest{Room: "Bad Room", User: "alice"}, &cut)
	if transport.CodeOf(err) != transport.CodeInvalid {
		t.Fatalf("a cut of a bad room: %v, want invalid", err)
	}
}
