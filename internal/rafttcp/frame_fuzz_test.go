package rafttcp

import (
	"bytes"
	"testing"

	pb "github.com/lni/dragonboat/v4/raftpb"
)

// FuzzFrames feeds arbitrary bytes to the receiving side, frame reader and
// body decoders, as a peer's connection would: no input may panic it, and
// a frame it accepts must decode the way deliver decodes it or be refused.
func FuzzFrames(f *testing.F) {
	f.Add(encodeBatch(f, testBatch(1, []byte("hello")), false), false)
	f.Add(encodeBatch(f, testBatch(3, []byte("hi")), true), true)
	f.Add(append(encodeBatch(f, testBatch(1, nil), false), poison[:]...), false)
	chunk := pb.Chunk{ShardID: 1, ReplicaID: 2, ChunkId: 0, ChunkCount: 1, Data: []byte("snapshot")}
	f.Add(encode(f, make([]byte, prefixSize+chunk.Size()), &chunk, methodSnapshot, false), false)
	f.Fuzz(func(t *testing.T, wire []byte, checksum bool) {
		fr := frameReader{r: bytesConn{bytes.NewReader(wire)}, checksum: checksum}
		for range 8 {
			method, body, err := fr.next()
			if err != nil {
				return
			}
			if len(body) == 0 || len(body) > maxBody {
				t.Fatalf("accepted a body of %d bytes", len(body))
			}
			if method == methodRaft {
				var b pb.MessageBatch
				_ = b.Unmarshal(body)
			} else {
				var c pb.Chunk
				_ = c.Unmarshal(body)
			}
		}
	})
}
