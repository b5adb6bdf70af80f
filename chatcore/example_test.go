package chatcore_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
)

// Example runs a one-node cluster inside the program: Start creates it in
// an empty data dir (and reopens it on the next run), then the program
// follows a room, sends to it and reads the message back.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "parley-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// Raft needs a fixed TCP address, kept across restarts; pick a free one.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	raftAddr := l.Addr().String()
	l.Close()

	node, err := chatcore.Start(ctx, chatcore.Config{DataDir: dir, RaftAddr: raftAddr})
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()

	sub, err := node.Subscribe("general", "bot", 0) // from the next message on
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	res, err := node.Send(ctx, chatcore.SendParams{Room: "general", User: "bot", ID: parley.NewMsgID(time.Now()), Text: "hello"})
	if err != nil {
		log.Fatal(err)
	}
	msgs, err := sub.Next(ctx, 100)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent seq", res.Seq)
	for _, m := range msgs {
		fmt.Printf("%d %s: %s\n", m.Seq, m.User, m.Text)
	}
	// Output:
	// sent seq 1
	// 1 bot: hello
}
