package transport

import "github.com/parleychat/parley"

// Analytics operations (see package mapreduce). A client starts a job on
// any node, which becomes the job's coordinator, and polls it for progress
// and, once done, its result rows. The node-to-node operations (OpMR*) run
// the job's tasks on other nodes; only a session whose TLS client
// certificate the cluster CA signed may call them.
const (
	// OpAnalyticsJobs lists the registered jobs (AnalyticsJobsRequest,
	// AnalyticsJobsResponse).
	OpAnalyticsJobs = "analytics.jobs"
	// OpAnalyticsStart starts a job (AnalyticsRequest, AnalyticsStarted).
	OpAnalyticsStart = "analytics.start"
	// OpAnalyticsPoll reports a job's progress and, once it is done, a
	// page of its rows (AnalyticsPollRequest, AnalyticsPollResponse).
	OpAnalyticsPoll = "analytics.poll"
	// OpAnalyticsCancel stops a job (AnalyticsCancelRequest; no body).
	OpAnalyticsCancel = "analytics.cancel"

	// OpMRTask starts one attempt of a map or reduce task on the serving
	// node (TaskRequest; no body). Node to node only.
	OpMRTask = "mr.task"
	// OpMRStatus reports the serving node's attempts of a job
	// (TaskStatusRequest, TaskStatusResponse). Node to node only.
	OpMRStatus = "mr.status"
	// OpMRFetch reads a page of one partition of a finished attempt's
	// output (FetchRequest, FetchResponse). Node to node only.
	OpMRFetch = "mr.fetch"
	// OpMRDrop stops attempts and deletes their output (DropRequest; no
	// body). Node to node only.
	OpMRDrop = "mr.drop"
	// OpMRPoll and OpMRCancel forward a user's poll or cancel of a job to
	// the job's coordinator, when the user's client has moved to another
	// node (ForwardRequest; AnalyticsPollResponse, or no body). Node to
	// node only.
	OpMRPoll   = "mr.poll"
	OpMRCancel = "mr.cancel"
	// OpMRCut reads a room's last seq on a node that hosts it, for a
	// coordinator that does not (CutRequest, CutResponse).
	OpMRCut = "mr.cut"
)

// AnalyticsParams are a job's parameters. Times are Unix nanoseconds; zero
// means unbounded.
type AnalyticsParams struct {
	// Rooms limits the job to these rooms; empty means every room the
	// user may read.
	Rooms []string `cbor:"1,keyasint"`
	Since int64    `cbor:"2,keyasint,omitempty"`
	Until int64    `cbor:"3,keyasint,omitempty"`
	// Limit bounds the rows of the result (0: the job's default).
	Limit int `cbor:"4,keyasint,omitempty"`
	// Query is the search job's regular expression (Go syntax).
	Query string `cbor:"5,keyasint,omitempty"`
	// By is "room" or "user" for the activity job.
	By string `cbor:"6,keyasint,omitempty"`
	// All asks for every room of the cluster, every direct-message room
	// included. It needs an administrator.
	All bool `cbor:"7,keyasint,omitempty"`
}

// AnalyticsJobsRequest has no fields.
type AnalyticsJobsRequest struct{}

// AnalyticsJobsResponse lists the jobs a node can run, in name order.
type AnalyticsJobsResponse struct {
	Jobs []AnalyticsJob `cbor:"1,keyasint"`
}

// AnalyticsJob names and describes one registered job.
type AnalyticsJob struct {
	Name    string `cbor:"1,keyasint"`
	Summary string `cbor:"2,keyasint"`
}

// AnalyticsRequest starts job Job with Params.
type AnalyticsRequest struct {
	Job    string          `cbor:"1,keyasint"`
	Params AnalyticsParams `cbor:"2,keyasint"`
}

// AnalyticsStarted names the started job for later polls.
type AnalyticsStarted struct {
	JobID string `cbor:"1,keyasint"`
}

// AnalyticsPollRequest asks for a job's state and, once it is done, its
// rows from index From on.
type AnalyticsPollRequest struct {
	JobID string `cbor:"1,keyasint"`
	From  int    `cbor:"2,keyasint,omitempty"`
}

// AnalyticsProgress is how far a job has come.
type AnalyticsProgress struct {
	TasksDone  int    `cbor:"1,keyasint"`
	TasksTotal int    `cbor:"2,keyasint"`
	Scanned    uint64 `cbor:"3,keyasint"`
	// Messages is the number of messages in the job's cut.
	Messages uint64 `cbor:"4,keyasint"`
	// Coordinator is the node that coordinates the job.
	Coordinator uint64 `cbor:"5,keyasint,omitempty"`
	// Running lists the nodes running the job's attempts or holding its
	// map outputs right now.
	Running []NodeTasks `cbor:"6,keyasint"`
	// Backups counts the backup attempts started for stragglers, and
	// Reruns the attempts started again after a failure or a lost node.
	Backups int `cbor:"7,keyasint,omitempty"`
	Reruns  int `cbor:"8,keyasint,omitempty"`
	// JobID names the job, as AnalyticsStarted did.
	JobID string `cbor:"9,keyasint,omitempty"`
}

// NodeTasks counts one node's running attempts of a job, and the finished
// map outputs it holds that reducers still need.
type NodeTasks struct {
	Node    uint64 `cbor:"1,keyasint"`
	Maps    int    `cbor:"2,keyasint,omitempty"`
	Reduces int    `cbor:"3,keyasint,omitempty"`
	Outputs int    `cbor:"4,keyasint,omitempty"`
}

// AnalyticsPollResponse is a job's progress; when Done, Error or a page of
// rows starting at the request's From, and Total rows in all.
type AnalyticsPollResponse struct {
	Progress AnalyticsProgress `cbor:"1,keyasint"`
	Done     bool              `cbor:"2,keyasint,omitempty"`
	Error    *Error            `cbor:"3,keyasint,omitempty"`
	Rows     []AnalyticsRow    `cbor:"4,keyasint"`
	Total    int               `cbor:"5,keyasint,omitempty"`
	// Cancelled is set, with Error, for a job that was cancelled: it is
	// not Done and never will be.
	Cancelled bool `cbor:"6,keyasint,omitempty"`
}

// AnalyticsRow is one result row: a key and its value as JSON, or for the
// search job a message.
type AnalyticsRow struct {
	Key   string          `cbor:"1,keyasint"`
	Value []byte          `cbor:"2,keyasint"`
	Msg   *parley.Message `cbor:"3,keyasint,omitempty"`
}

// ForwardRequest is a user's poll or cancel forwarded to the job's
// coordinator.
type ForwardRequest struct {
	User  string `cbor:"1,keyasint"`
	JobID string `cbor:"2,keyasint"`
	From  int    `cbor:"3,keyasint,omitempty"`
}

// AnalyticsCancelRequest stops job JobID.
type AnalyticsCancelRequest struct {
	JobID string `cbor:"1,keyasint"`
}

// Task kinds.
const (
	TaskMap    = "map"
	TaskReduce = "reduce"
)

// TaskRequest starts one attempt of a task. A map attempt reads Ranges and
// writes Partitions partitions; a reduce attempt reads partition Partition
// of every map output in Sources.
type TaskRequest struct {
	JobID      string          `cbor:"1,keyasint"`
	Attempt    uint64          `cbor:"2,keyasint"`
	Kind       string          `cbor:"3,keyasint"`
	Job        string          `cbor:"4,keyasint"`
	Params     AnalyticsParams `cbor:"5,keyasint"`
	Ranges     []RoomRange     `cbor:"6,keyasint"`
	Partitions int             `cbor:"7,keyasint,omitempty"`
	Partition  int             `cbor:"8,keyasint,omitempty"`
	Sources    []TaskSource    `cbor:"9,keyasint"`
	// User is the job's user: a map attempt reads only rooms the user
	// may read.
	User string `cbor:"10,keyasint"`
}

// RoomRange is the seqs From..To of one room.
type RoomRange struct {
	Room string `cbor:"1,keyasint"`
	From uint64 `cbor:"2,keyasint"`
	To   uint64 `cbor:"3,keyasint"`
}

// TaskSource is a finished map attempt and the node that holds its output.
type TaskSource struct {
	Attempt uint64 `cbor:"1,keyasint"`
	Node    uint64 `cbor:"2,keyasint"`
}

// TaskStatusRequest asks for the state of a job's attempts on a node.
type TaskStatusRequest struct {
	JobID    string   `cbor:"1,keyasint"`
	Attempts []uint64 `cbor:"2,keyasint"`
}

// Task states.
const (
	TaskRunning = "running"
	TaskDone    = "done"
	TaskFailed  = "failed"
	// TaskUnknown is an attempt the node does not have (it restarted, or
	// dropped it).
	TaskUnknown = "unknown"
)

// TaskStatusResponse has one TaskStatus per asked attempt, in order.
type TaskStatusResponse struct {
	Tasks []TaskStatus `cbor:"1,keyasint"`
}

// TaskStatus is one attempt's state. Failed names the node whose output a
// failed reduce attempt could not fetch, if that was why.
type TaskStatus struct {
	Attempt uint64 `cbor:"1,keyasint"`
	State   string `cbor:"2,keyasint"`
	Scanned uint64 `cbor:"3,keyasint,omitempty"`
	Error   string `cbor:"4,keyasint,omitempty"`
	Failed  uint64 `cbor:"5,keyasint,omitempty"`
}

// FetchRequest reads one partition of an attempt's output from byte
// Offset on.
type FetchRequest struct {
	JobID     string `cbor:"1,keyasint"`
	Attempt   uint64 `cbor:"2,keyasint"`
	Partition int    `cbor:"3,keyasint"`
	Offset    int64  `cbor:"4,keyasint,omitempty"`
}

// FetchResponse is a page of encoded records (see mapreduce) and the
// offset of the next; EOF when the page ends the partition.
type FetchResponse struct {
	Data []byte `cbor:"1,keyasint"`
	Next int64  `cbor:"2,keyasint"`
	EOF  bool   `cbor:"3,keyasint,omitempty"`
}

// DropRequest stops the named attempts of a job and deletes their output;
// no attempts means every attempt of the job.
type DropRequest struct {
	JobID    string   `cbor:"1,keyasint"`
	Attempts []uint64 `cbor:"2,keyasint"`
}

// CutRequest asks a node hosting Room for the room's last seq, read by
// User (or, with All, by an administrator's cluster-wide job).
type CutRequest struct {
	Room string `cbor:"1,keyasint"`
	User string `cbor:"2,keyasint"`
	All  bool   `cbor:"3,keyasint,omitempty"`
}

// CutResponse is a room's last seq.
type CutResponse struct {
	Seq uint64 `cbor:"1,keyasint"`
}
