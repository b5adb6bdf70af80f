// Package mapreduce runs analytics jobs over the chat history, on the
// cluster itself.
//
// A job (see Job) is named and registered in code: every node runs the
// same binary, so a name is enough to ship it. The node a client submits a
// job to is its coordinator (coordinator.go). It fixes the job's cut, each
// room's last seq at the start (chatcore.Node.RoomCut), so messages sent
// while the job runs do not change its answer; it makes one map task per
// room shard (more for big shards) and runs each on a node that holds a
// replica of the shard (Engine.Replicas). A map attempt (worker.go) scans
// its rooms from the local state db, calls the job's Map, combines equal
// keys and writes its output partitioned by key hash into P partitions,
// spilling sorted runs to disk past a memory bound (spill.go) and merging
// them (merge.go). A reduce attempt pulls its partition from every map
// output over the node-to-node protocol (transport.OpMRFetch), merges and
// reduces it. The coordinator collects the reduced partitions, orders them
// and keeps the job's limit of rows.
//
// Faults: the coordinator polls every node that runs its attempts. A node
// that stops answering is given up: its running attempts, and its finished
// map attempts whose output a reducer still needs, run again on another
// replica. Near the end, an attempt that runs much longer than its peers
// gets a backup attempt on another node; the first to finish wins. A job
// lives only on its coordinator: if that node dies, polls of the job fail
// and the client (client.Analytics) submits it once more to another node.
package mapreduce
