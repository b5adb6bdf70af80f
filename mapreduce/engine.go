package mapreduce

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

const (
	// maxPartitions bounds a job's reduce partitions.
	maxPartitions = 64
	// keepDone is how long a finished job's result stays for its client.
	keepDone = 5 * time.Minute
	// maxJobs bounds the jobs one node coordinates at once.
	maxJobs = 16
)

// Caller makes one node-to-node request to the node with id node: the
// daemon's protocol client. Only calls to other nodes go through it.
type Caller interface {
	Call(ctx context.Context, node uint64, op string, req, resp any) error
}

// Config configures an Engine.
type Config struct {
	// Node is the local chatcore node: its registry and its replicas.
	Node *chatcore.Node
	// Caller reaches other nodes.
	Caller Caller
	// Dir holds the attempts' spills and output; it is emptied at start.
	Dir string
	// Logger receives the engine's logs (default slog.Default()).
	Logger *slog.Logger
	// MemBytes bounds about how much one map attempt holds in memory
	// before spilling (default DefaultMemBytes).
	MemBytes int
	// ScanDelay slows every scanned message down; for tests that must
	// catch a job while it runs. Zero in production.
	ScanDelay time.Duration
	// Replicas lists the nodes that hold a replica of shard; nil means
	// every node of the registry (today every node hosts every shard).
	Replicas func(shard uint64) []uint64
}

// Engine coordinates the jobs clients submit to this node and runs the
// tasks any coordinator gives it.
type Engine struct {
	node      *chatcore.Node
	caller    Caller
	log       *slog.Logger
	memBytes  int
	scanDelay time.Duration
	replicas  func(shard uint64) []uint64
	worker    *worker

	stop chan struct{}
	wg   sync.WaitGroup

	mu   sync.Mutex
	jobs map[string]*jobRun
}

// New makes an Engine and starts its housekeeping.
func New(cfg Config) (*Engine, error) {
	if cfg.Node == nil || cfg.Caller == nil || cfg.Dir == "" {
		return nil, fmt.Errorf("analytics: node, caller and dir are required: %w", chatcore.ErrInvalid)
	}
	if err := os.RemoveAll(cfg.Dir); err != nil {
		return nil, fmt.Errorf("analytics: %w", err)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("analytics: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MemBytes <= 0 {
		cfg.MemBytes = DefaultMemBytes
	}
	e := &Engine{
		node: cfg.Node, caller: cfg.Caller, log: cfg.Logger, memBytes: cfg.MemBytes,
		scanDelay: cfg.ScanDelay, replicas: cfg.Replicas,
		stop: make(chan struct{}), jobs: map[string]*jobRun{},
	}
	if e.replicas == nil {
		e.replicas = e.everyNode
	}
	e.worker = newWorker(e, cfg.Dir)
	e.wg.Add(1)
	go e.housekeep()
	return e, nil
}

// everyNode is the default Replicas: every node of the registry.
func (e *Engine) everyNode(uint64) []uint64 {
	recs, err := e.node.Nodes()
	if err != nil {
		return []uint64{e.node.ID()}
	}
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// Close cancels every job and stops the engine.
func (e *Engine) Close() {
	close(e.stop)
	e.mu.Lock()
	for _, j := range e.jobs {
		j.cancel()
	}
	e.mu.Unlock()
	e.wg.Wait()
}

func (e *Engine) housekeep() {
	defer e.wg.Done()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case now := <-t.C:
			e.worker.sweep(now)
			e.mu.Lock()
			for id, j := range e.jobs {
				if j.expired(now) {
					delete(e.jobs, id)
				}
			}
			e.mu.Unlock()
		}
	}
}

// JobList lists the registered jobs.
func (e *Engine) JobList() transport.AnalyticsJobsResponse {
	var out transport.AnalyticsJobsResponse
	for _, j := range Jobs() {
		out.Jobs = append(out.Jobs, transport.AnalyticsJob{Name: j.Name, Summary: j.Summary})
	}
	return out
}

// Start checks a client's request and starts the job with this node as its
// coordinator. The job reads only rooms user may read.
func (e *Engine) Start(user string, req transport.AnalyticsRequest) (transport.AnalyticsStarted, error) {
	job, err := Lookup(req.Job)
	if err != nil {
		return transport.AnalyticsStarted{}, err
	}
	p, err := ParseParams(job, req.Params)
	if err != nil {
		return transport.AnalyticsStarted{}, err
	}
	if p.All {
		return transport.AnalyticsStarted{}, fmt.Errorf("analytics %s: a job over every room, direct messages included, needs an administrator, and this cluster has none: %w", job.Name, chatcore.ErrForbidden)
	}
	for _, r := range p.Rooms {
		if err := chatcore.CheckAccess(r, user); err != nil {
			return transport.AnalyticsStarted{}, fmt.Errorf("analytics %s: %w", job.Name, err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	running := 0
	for _, j := range e.jobs {
		if !j.isDone() {
			running++
		}
	}
	if running >= maxJobs {
		return transport.AnalyticsStarted{}, fmt.Errorf("analytics: %d jobs running on this node: %w", running, chatcore.ErrUnavailable)
	}
	id := newJobID()
	ctx, cancel := context.WithCancel(context.Background())
	j := &jobRun{e: e, id: id, user: user, job: job, params: p, cancel: cancel}
	e.jobs[id] = j
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		j.run(ctx)
	}()
	return transport.AnalyticsStarted{JobID: id}, nil
}

// Poll reports a job of user's.
func (e *Engine) Poll(user string, req transport.AnalyticsPollRequest) (transport.AnalyticsPollResponse, error) {
	j, err := e.lookupJob(user, req.JobID)
	if err != nil {
		return transport.AnalyticsPollResponse{}, err
	}
	if req.From < 0 {
		return transport.AnalyticsPollResponse{}, fmt.Errorf("analytics: row %d: %w", req.From, chatcore.ErrInvalid)
	}
	return j.poll(req.From), nil
}

// Cancel stops a job of user's.
func (e *Engine) Cancel(user string, req transport.AnalyticsCancelRequest) error {
	j, err := e.lookupJob(user, req.JobID)
	if err != nil {
		return err
	}
	j.cancel()
	return nil
}

func (e *Engine) lookupJob(user, id string) (*jobRun, error) {
	e.mu.Lock()
	j := e.jobs[id]
	e.mu.Unlock()
	if j == nil || j.user != user {
		return nil, fmt.Errorf("analytics: job %q is not known on this node (its coordinator may have restarted): %w", id, chatcore.ErrNotFound)
	}
	return j, nil
}

// Task serves transport.OpMRTask from another node's coordinator.
func (e *Engine) Task(req transport.TaskRequest) error { return e.worker.start(req) }

// Status serves transport.OpMRStatus.
func (e *Engine) Status(req transport.TaskStatusRequest) transport.TaskStatusResponse {
	return e.worker.status(req)
}

// Fetch serves transport.OpMRFetch.
func (e *Engine) Fetch(req transport.FetchRequest) (transport.FetchResponse, error) {
	return e.worker.fetch(req)
}

// Drop serves transport.OpMRDrop.
func (e *Engine) Drop(req transport.DropRequest) { e.worker.drop(req) }

// call makes a node-to-node request, or serves it here when node is this
// one: the one place where the engine talks to other nodes.
func (e *Engine) call(ctx context.Context, node uint64, op string, req, resp any) error {
	if node != e.node.ID() {
		return e.caller.Call(ctx, node, op, req, resp)
	}
	switch op {
	case transport.OpMRTask:
		return e.Task(req.(transport.TaskRequest))
	case transport.OpMRStatus:
		*resp.(*transport.TaskStatusResponse) = e.Status(req.(transport.TaskStatusRequest))
	case transport.OpMRFetch:
		r, err := e.Fetch(req.(transport.FetchRequest))
		*resp.(*transport.FetchResponse) = r
		return err
	case transport.OpMRDrop:
		e.Drop(req.(transport.DropRequest))
	default:
		return fmt.Errorf("analytics: op %q: %w", op, chatcore.ErrInvalid)
	}
	return nil
}

// fetchAll copies one partition of an attempt's output on node to path.
func (e *Engine) fetchAll(ctx context.Context, node uint64, req transport.FetchRequest, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		var resp transport.FetchResponse
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		err := e.call(cctx, node, transport.OpMRFetch, req, &resp)
		cancel()
		if err != nil {
			return err
		}
		if _, err := f.Write(resp.Data); err != nil {
			return err
		}
		if resp.EOF {
			return f.Close()
		}
		if resp.Next <= req.Offset {
			return fmt.Errorf("fetch: no progress at offset %d", req.Offset)
		}
		req.Offset = resp.Next
	}
}

func newJobID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validJobID accepts what newJobID makes: job ids name directories.
func validJobID(id string) error {
	if len(id) != 24 {
		return fmt.Errorf("job id %q: %w", id, chatcore.ErrInvalid)
	}
	if _, err := hex.DecodeString(id); err != nil {
		return fmt.Errorf("job id %q: %w", id, chatcore.ErrInvalid)
	}
	return nil
}

// sortRecords orders rs as job wants.
func sortRecords(job *Job, rs []Record) {
	sort.SliceStable(rs, func(a, b int) bool { return job.less(rs[a], rs[b]) })
}
