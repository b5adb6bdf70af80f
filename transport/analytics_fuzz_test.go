package transport

import (
	"testing"

	"github.com/parleychat/parley"
)

// analyticsTargets are the analytics and node-to-node task bodies a peer
// sends (analytics.go).
var analyticsTargets = []func() any{
	func() any { return new(AnalyticsJobsRequest) },
	func() any { return new(AnalyticsJobsResponse) },
	func() any { return new(AnalyticsRequest) },
	func() any { return new(AnalyticsStarted) },
	func() any { return new(AnalyticsPollRequest) },
	func() any { return new(AnalyticsPollResponse) },
	func() any { return new(AnalyticsCancelRequest) },
	func() any { return new(TaskRequest) },
	func() any { return new(TaskStatusRequest) },
	func() any { return new(TaskStatusResponse) },
	func() any { return new(FetchRequest) },
	func() any { return new(FetchResponse) },
	func() any { return new(DropRequest) },
	func() any { return new(ForwardRequest) },
	func() any { return new(CutRequest) },
	func() any { return new(CutResponse) },
}

// FuzzAnalyticsBodies decodes arbitrary bytes as every analytics body:
// decoding never panics, and what decodes survives a round trip.
func FuzzAnalyticsBodies(f *testing.F) {
	msg := parley.Message{Room: "general", Seq: 3, User: "ada", TS: parley.UnixTime(1), Text: "pizza"}
	for _, v := range []any{
		AnalyticsRequest{Job: "search", Params: AnalyticsParams{Rooms: []string{"general", "dm.ada.bob"}, Since: 1, Until: 2, Limit: 10, Query: "piz+a", By: "user"}},
		AnalyticsPollRequest{JobID: "00112233445566778899aabb", From: 3},
		AnalyticsPollResponse{Progress: AnalyticsProgress{TasksDone: 1, TasksTotal: 2, Scanned: 3, Messages: 4, Running: []NodeTasks{{Node: 1, Maps: 2}}},
			Done: true, Rows: []AnalyticsRow{{Key: "ada", Value: []byte("3")}, {Key: "general#3", Msg: &msg}}, Total: 2},
		TaskRequest{JobID: "j", Attempt: 4, Kind: TaskMap, Job: "top-words", Ranges: []RoomRange{{Room: "general", From: 1, To: 9}}, Partitions: 3},
		TaskRequest{JobID: "j", Attempt: 5, Kind: TaskReduce, Job: "top-words", Partition: 2, Sources: []TaskSource{{Attempt: 4, Node: 2}}},
		TaskStatusResponse{Tasks: []TaskStatus{{Attempt: 4, State: TaskFailed, Error: "x", Failed: 2}}},
		FetchResponse{Data: []byte{0xa2, 1, 2}, Next: 3, EOF: true},
		DropRequest{JobID: "j", Attempts: []uint64{1, 2}},
		CutRequest{Room: "dm.ada.bob", User: "root", All: true},
		CutResponse{Seq: 42},
	} {
		b, err := parley.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xa1, 0x04, 0x3a, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range analyticsTargets {
			checkDecode(t, body, target)
		}
	})
}
