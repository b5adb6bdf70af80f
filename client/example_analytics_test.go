package client_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/daemon"
	"github.com/parleychat/parley/internal/freeport"
	"github.com/parleychat/parley/transport"
)

// Who talks most: the messages-per-user job, run by the cluster over the
// rooms the user may read. To be runnable here, the example starts a
// one-node cluster in this process; a program would dial its own.
func ExampleClient_Analytics() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "parley-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	raft, err := freeport.Addr()
	if err != nil {
		log.Fatal(err)
	}
	srv, err := daemon.Start(ctx, daemon.Config{
		DataDir: filepath.Join(dir, "n1"), Listen: "127.0.0.1:0", Raft: raft, HTTP: "-",
		Advertise: "127.0.0.1", Profile: "small", Shards: 2,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	dial := func(user string) *client.Client {
		c, err := client.Dial(ctx, client.Options{
			Servers: []string{srv.ClientAddr()}, User: user, Password: "secret",
			CAFile: chatcore.NodeTLS(filepath.Join(dir, "n1")).CA,
		})
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	alice, bob := dial("alice"), dial("bob")
	defer alice.Close()
	defer bob.Close()
	for _, s := range []struct {
		c    *client.Client
		text string
	}{{bob, "who is up for lunch?"}, {alice, "me"}, {bob, "pizza then"}} {
		if _, err := s.c.Send(ctx, "general", s.text); err != nil {
			log.Fatal(err)
		}
	}

	res, err := alice.Analytics(ctx, "messages-per-user", client.AnalyticsParams{
		Progress: func(p transport.AnalyticsProgress) {
			// A progress bar would go here: p.TasksDone of p.TasksTotal,
			// p.Scanned of p.Messages.
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res.Rows {
		n, err := client.Count(r)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.Key, n)
	}
	// Output:
	// bob 2
	// alice 1
}
