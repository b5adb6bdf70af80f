package rafttcp

import (
	"fmt"
	"io"
	"net"
	"time"

	pb "github.com/lni/dragonboat/v4/raftpb"
)

// messageConn sends Raft message batches to one peer; it is dragonboat's
// raftio.IConnection. dragonboat calls it from one goroutine at a time.
type messageConn struct {
	conn     net.Conn
	checksum bool
	out      frameBuffer
}

// Close closes the connection.
func (c *messageConn) Close() {
	_ = c.conn.Close()
}

// SendMessageBatch sends one batch as one frame.
func (c *messageConn) SendMessageBatch(batch pb.MessageBatch) error {
	frame, err := buildFrame(c.out.frame(batch.SizeUpperLimit()), &batch, methodRaft, c.checksum)
	if err != nil {
		return fmt.Errorf("rafttcp: message batch: %w", err)
	}
	return writeFrame(c.conn, frame)
}

// snapshotConn sends the chunks of a snapshot to one peer; it is
// dragonboat's raftio.ISnapshotConnection.
type snapshotConn struct {
	conn     net.Conn
	checksum bool
}

// SendChunk sends one chunk as one frame.
func (c *snapshotConn) SendChunk(chunk pb.Chunk) error {
	frame, err := buildFrame(make([]byte, prefixSize+chunk.Size()), &chunk, methodSnapshot, c.checksum)
	if err != nil {
		return fmt.Errorf("rafttcp: snapshot chunk: %w", err)
	}
	return writeFrame(c.conn, frame)
}

// Close ends the connection the way dragonboat's receiver expects: the
// poison number, then a wait for its answer, so that the last chunk has
// been read before the connection goes.
func (c *snapshotConn) Close() {
	defer c.conn.Close()
	if err := c.conn.SetWriteDeadline(time.Now().Add(poisonTimeout)); err != nil {
		return
	}
	if _, err := c.conn.Write(poison[:]); err != nil {
		return
	}
	if err := c.conn.SetReadDeadline(time.Now().Add(poisonAckTimeout)); err != nil {
		return
	}
	var ack [len(poison)]byte
	_, _ = io.ReadFull(c.conn, ack[:])
}
