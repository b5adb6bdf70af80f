package chatcore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
)

// Each quota refuses with an error that names it, and changes nothing.
func TestQuotas(t *testing.T) {
	c := chatcoretest.StartCluster(t, 1, chatcoretest.Options{
		Shards: 2, Argon: "small",
		Quotas: chatcore.Quotas{MaxRooms: 5, RoomsPerHour: 3, MaxMembers: 2},
	})
	n := c.Nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	for i := range 3 {
		if _, err := n.Join(ctx, fmt.Sprintf("ann-%d", i), "ann"); err != nil {
			t.Fatal(err)
		}
	}
	_, err := n.Join(ctx, "ann-3", "ann")
	if !errors.Is(err, chatcore.ErrRateQuota) || !errors.Is(err, parley.ErrRateLimited) || !strings.Contains(err.Error(), "rooms created per account per hour") {
		t.Fatalf("ann's 4th room this hour: %v, want the per-hour quota", err)
	}
	// Joining an existing room is no creation.
	if _, err := n.Join(ctx, "ann-0", "bob"); err != nil {
		t.Fatalf("bob joins ann's room: %v", err)
	}
	for i := range 2 {
		if _, err := n.Join(ctx, fmt.Sprintf("bob-%d", i), "bob"); err != nil {
			t.Fatal(err)
		}
	}
	_, err = n.Join(ctx, "cat-0", "cat")
	if !errors.Is(err, chatcore.ErrRoomQuota) || !errors.Is(err, parley.ErrTooLarge) || !strings.Contains(err.Error(), "rooms per cluster") {
		t.Fatalf("the 6th room: %v, want the per-cluster quota", err)
	}
	// A refused room is not remembered as existing: each send into it is
	// refused again, while sends into a room once seen go on.
	for i := range 2 {
		_, err = n.Send(ctx, chatcore.SendParams{Room: "cat-0", User: "cat", ID: parley.NewMsgID(time.Now()), Text: "hi"})
		if !errors.Is(err, chatcore.ErrRoomQuota) {
			t.Fatalf("send %d into the refused 6th room: %v, want the per-cluster quota", i, err)
		}
		if _, err := n.Send(ctx, chatcore.SendParams{Room: "ann-0", User: "ann", ID: parley.NewMsgID(time.Now()), Text: "hi"}); err != nil {
			t.Fatalf("send %d into ann-0: %v", i, err)
		}
	}
	rooms, err := n.Rooms()
	if err != nil || len(rooms) != 5 {
		t.Fatalf("rooms: %d, %v; want 5", len(rooms), err)
	}

	_, err = n.Join(ctx, "ann-0", "cat")
	if !errors.Is(err, parley.ErrTooLarge) || !strings.Contains(err.Error(), "members per room") {
		t.Fatalf("a 3rd member: %v, want the members quota", err)
	}
	// A member joining again is fine.
	if _, err := n.Join(ctx, "ann-0", "bob"); err != nil {
		t.Fatalf("bob joins again: %v", err)
	}
	members, err := n.Members(ctx, "ann-0", "ann")
	if err != nil || len(members) != 2 {
		t.Fatalf("members of ann-0: %v, %v", members, err)
	}

	// The cluster's argon2id profile is used for new accounts.
	if err := n.Login(ctx, "ann", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := n.Login(ctx, "ann", "pw"); err != nil {
		t.Fatalf("second login: %v", err)
	}
	if err := n.Login(ctx, "ann", "wrong"); !errors.Is(err, parley.ErrUnauthorized) {
		t.Fatalf("wrong password: %v", err)
	}
	info, err := n.ClusterInfo(ctx)
	if err != nil || info.Argon != "small" {
		t.Fatalf("cluster argon profile %q, %v; want small", info.Argon, err)
	}
}
