package daemontest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/daemon/daemontest"
)

// TestClusterStopRestart: three servers form one cluster; a stopped server
// comes back with its data, at the address clients know.
func TestClusterStopRestart(t *testing.T) {
	c := daemontest.StartCluster(t, 3, daemontest.Options{Shards: 2})
	addrs := c.Addrs()
	if c.Len() != 3 || len(addrs) != 3 {
		t.Fatalf("%d servers, addrs %v", c.Len(), addrs)
	}
	nodes, err := c.Server(2).Node().Nodes()
	if err != nil || len(nodes) != 3 {
		t.Fatalf("server 2 knows nodes %v, %v", nodes, err)
	}
	for _, n := range nodes {
		if !slices.Contains(addrs, n.ClientAddr) {
			t.Fatalf("node %+v has a client address not in %v", n, addrs)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.Server(0).Node().Send(ctx, chatcore.SendParams{Room: "general", User: "alice", ID: parley.NewMsgID(time.Now()), Text: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	c.Stop(1)
	if c.Server(1) != nil || c.Index(addrs[1]) != 1 {
		t.Fatal("a stopped server is still listed as running, or lost its address")
	}
	c.Stop(1) // stopping twice does nothing
	c.Restart(1)
	if got := c.Addrs(); got[0] != addrs[0] || got[2] != addrs[2] || c.Server(1).ClientAddr() != got[1] {
		t.Fatalf("addresses after restart %v, were %v", got, addrs)
	}
	msgs, last, err := c.Server(1).Node().History(ctx, "general", "alice", chatcore.HistoryQuery{})
	if err != nil || last != res.Seq || len(msgs) != 1 || msgs[0].Text != "kept" {
		t.Fatalf("restarted server's history: %v, last %d, %v", msgs, last, err)
	}
}
