package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/transport"
)

// A bot that greets a room and then echoes what it hears. It needs a
// running cluster, so it has no Output line.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	c, err := client.Dial(dctx, client.Options{
		Servers:  []string{"127.0.0.1:7400", "10.0.0.12:7400"},
		User:     "echobot",
		Password: os.Getenv("PARLEY_PASSWORD"),
		Logger:   slog.Default(),
		OnState: func(s client.State) {
			log.Printf("connection %s", s)
		},
	})
	cancel()
	if errors.Is(err, transport.ErrCAChanged) {
		log.Fatal("the cluster's CA changed; refusing to connect")
	}
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	r, err := c.Send(sctx, "general", "echobot is here")
	cancel()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("greeted as general#%d\n", r.Seq)

	// Everything after the greeting, once each, in order, across failovers.
	sub, err := c.Subscribe(ctx, "general", r.Seq+1)
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	for m := range sub.C() {
		if m.User == "echobot" {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		_, err := c.Send(sctx, m.Room, m.User+" said: "+m.Text)
		cancel()
		if err != nil {
			log.Print(err)
		}
	}
	if err := sub.Err(); err != nil {
		log.Fatal(err)
	}
}

// Reading the last messages of a room, waiting until the node has applied
// one's own last send (read-your-writes).
func ExampleClient_History() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Servers: []string{"127.0.0.1:7400"}, User: "alice", Password: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	r, err := c.Send(ctx, "general", "hello")
	if err != nil {
		log.Fatal(err)
	}
	msgs, err := c.History(ctx, "general", client.HistoryOptions{Last: 20, MinSeq: r.Seq})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range msgs {
		fmt.Printf("%d <%s> %s\n", m.Seq, m.User, m.Text)
	}
}

// Retrying a send safely after its context ended: the same id is never
// committed twice.
func ExampleClient_SendID() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Servers: []string{"127.0.0.1:7400"}, User: "alice", Password: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	id := parley.NewMsgID(time.Now())
	for {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		r, err := c.SendID(sctx, "general", id, "exactly once")
		cancel()
		if err == nil {
			fmt.Printf("general#%d duplicate=%v\n", r.Seq, r.Duplicate)
			return
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			log.Fatal(err)
		}
	}
}

// Joining a room, looking at who is there, and leaving again. The room's
// members see the notices "alice joined" and "alice left".
func ExampleClient_Join() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Servers: []string{"127.0.0.1:7400"}, User: "alice", Password: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Join(ctx, "general"); err != nil {
		log.Fatal(err)
	}
	members, err := c.Who(ctx, "general")
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range members {
		fmt.Printf("%s online=%v\n", m.User, m.Online)
	}
	if err := c.Leave(ctx, "general"); err != nil {
		log.Fatal(err)
	}
}

// Listing the rooms: every public room and one's own direct-message rooms.
func ExampleClient_Rooms() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Servers: []string{"127.0.0.1:7400"}, User: "alice", Password: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	rooms, err := c.Rooms(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range rooms {
		fmt.Printf("%s members=%d last=%d joined=%v dm=%v\n", r.Name, r.Members, r.LastSeq, r.Joined, r.DM)
	}
}

// Listing who of a room's members is online right now.
func ExampleClient_Who() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Servers: []string{"127.0.0.1:7400"}, User: "alice", Password: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	members, err := c.Who(ctx, "general")
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range members {
		if m.Online {
			fmt.Println(m.User)
		}
	}
}

// A private conversation: alice writes to bob, then reads their room. A
// third user asking for the same room gets a forbidden error.
func ExampleClient_DirectMessage() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Servers: []string{"127.0.0.1:7400"}, User: "alice", Password: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	r, err := c.DirectMessage(ctx, "bob", "lunch at noon?")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Room) // dm.alice.bob
	msgs, err := c.History(ctx, parley.DMRoom(c.User(), "bob"), client.HistoryOptions{Last: 10})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range msgs {
		fmt.Printf("<%s> %s\n", m.User, m.Text)
	}
}

// Leaving a room is idempotent: leaving twice leaves one notice.
func ExampleClient_Leave() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Servers: []string{"127.0.0.1:7400"}, User: "alice", Password: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for range 2 {
		if err := c.Leave(ctx, "general"); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("%s has left general\n", c.User())
}
