package mapreduce

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

const (
	// maxPartitions bounds a job's reduce partitions.
	maxPartitions = 64
	// keepDone is how long a finished job's result stays for its client.
	keepDone = 5 * time.Minute
	// DefaultBackupAfter is Config.BackupAfter's default.
	DefaultBackupAfter = time.Second
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
	// ReduceDelay holds every reduce attempt this long before it
	// finishes; for tests that must catch a node holding reduce tasks.
	// Zero in production.
	ReduceDelay time.Duration
	// BackupAfter is the least time an attempt runs before a straggler
	// gets a backup attempt (default DefaultBackupAfter).
	BackupAfter time.Duration
	// Replicas lists the nodes that hold a replica of shard; nil means
	// every node of the registry (today every node hosts every shard).
	Replicas func(shard uint64) []uint64
}

// Engine coordinates the jobs clients submit to this node and runs the
// tasks any coordinator gives it.
type Engine struct {
	node        *chatcore.Node
	caller      Caller
	log         *slog.Logger
	memBytes    int
	scanDelay   time.Duration
	reduceDelay time.Duration
	backupAt    time.Duration
	replicas    func(shard uint64) []uint64
	worker      *worker

	stop chan struct{}
	wg   sync.WaitGroup

	mu   sync.Mutex
	jobs map[string]*jobRun
}

// New makes an Engine and starts its housekeeping.
func New(cfg Config) (*Engine, error) {
	if cfg.Node == nil || cfg.Caller == nil || cfg.Dir == "" {
		return nil, fmt.Errorf("analytics: node, caller and dir are required: %w", parley.ErrInvalid)
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
		scanDelay: cfg.ScanDelay, reduceDelay: cfg.ReduceDelay, replicas: cfg.Replicas, backupAt: cfg.BackupAfter,
		stop: make(chan struct{}), jobs: map[string]*jobRun{},
	}
	if e.backupAt <= 0 {
		e.backupAt = DefaultBackupAfter
	}
	if e.replicas == nil {
		e.replicas = e.voters
	}
	e.worker = newWorker(e, cfg.Dir)
	e.wg.Add(1)
	go e.housekeep()
	return e, nil
}

// voters is the default Replicas: the shard's voting replicas by the
// registry, the nodes where a map task over it reads locally.
func (e *Engine) voters(shard uint64) []uint64 {
	v, err := e.node.ShardVoters(shard)
	if err != nil {
		e.log.Warn("analytics: shard placement", "shard", shard, "err", err)
		return nil
	}
	return v
}

// Close cancels every job and attempt and waits for them to stop; call it
// before closing the node.
func (e *Engine) Close() {
	e.mu.Lock()
	close(e.stop)
	for _, j := range e.jobs {
		j.cancel()
	}
	e.mu.Unlock()
	e.worker.stopAll()
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
// coordinator. The job reads only rooms user may read, unless it asks for
// every room (Params.All), which only an administrator may.
func (e *Engine) Start(ctx context.Context, user string, req transport.AnalyticsRequest) (transport.AnalyticsStarted, error) {
	job, err := Lookup(req.Job)
	if err != nil {
		return transport.AnalyticsStarted{}, err
	}
	p, err := ParseParams(job, req.Params)
	if err != nil {
		return transport.AnalyticsStarted{}, err
	}
	if p.All {
		admin, err := e.node.IsAdmin(ctx, user)
		if err != nil {
			return transport.AnalyticsStarted{}, fmt.Errorf("analytics %s: %w", job.Name, err)
		}
		if !admin {
			return transport.AnalyticsStarted{}, fmt.Errorf("analytics %s: a job over every room, other people's direct messages included, needs an administrator, and %q is not one: %w", job.Name, user, parley.ErrForbidden)
		}
	}
	for _, r := range p.Rooms {
		if err := parley.CheckAccess(r, user); err != nil {
			return transport.AnalyticsStarted{}, fmt.Errorf("analytics %s: %w", job.Name, err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.stop:
		return transport.AnalyticsStarted{}, fmt.Errorf("analytics: node closing: %w", parley.ErrUnavailable)
	default:
	}
	running := 0
	for _, j := range e.jobs {
		if !j.isDone() {
			running++
		}
	}
	if running >= maxJobs {
		return transport.AnalyticsStarted{}, fmt.Errorf("analytics: %d jobs running on this node: %w", running, parley.ErrUnavailable)
	}
	id := newJobID(e.node.ID())
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

// Poll reports a job of user's. A job another node coordinates (the
// user's client moved here) is asked of that node.
func (e *Engine) Poll(ctx context.Context, user string, req transport.AnalyticsPollRequest) (transport.AnalyticsPollResponse, error) {
	if req.From < 0 {
		return transport.AnalyticsPollResponse{}, fmt.Errorf("analytics: row %d: %w", req.From, parley.ErrInvalid)
	}
	var resp transport.AnalyticsPollResponse
	err := e.forward(ctx, transport.OpMRPoll, transport.ForwardRequest{User: user, JobID: req.JobID, From: req.From}, &resp)
	return resp, err
}

// Cancel stops a job of user's, here or on its coordinator.
func (e *Engine) Cancel(ctx context.Context, user string, req transport.AnalyticsCancelRequest) error {
	return e.forward(ctx, transport.OpMRCancel, transport.ForwardRequest{User: user, JobID: req.JobID}, nil)
}

// forward serves a poll or cancel of the job here if this node coordinates
// it, else on its coordinator. A coordinator that cannot be reached is
// reported as a job not found: it died, and the job with it.
func (e *Engine) forward(ctx context.Context, op string, req transport.ForwardRequest, resp *transport.AnalyticsPollResponse) error {
	coord, err := jobCoordinator(req.JobID)
	if err != nil {
		return err
	}
	if coord == e.node.ID() {
		r, err := e.Forwarded(op, req)
		if resp != nil {
			*resp = r
		}
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var out any
	if resp != nil {
		out = resp
	}
	err = e.caller.Call(cctx, coord, op, req, out)
	var te *transport.Error
	if err != nil && !errors.As(err, &te) {
		return fmt.Errorf("analytics: job %s: its coordinator, node %d, does not answer (%v): %w", req.JobID, coord, err, parley.ErrNotFound)
	}
	return err
}

// Forwarded serves a poll or cancel (transport.OpMRPoll, OpMRCancel) of a
// job this node coordinates.
func (e *Engine) Forwarded(op string, req transport.ForwardRequest) (transport.AnalyticsPollResponse, error) {
	j, err := e.lookupJob(req.User, req.JobID)
	if err != nil {
		return transport.AnalyticsPollResponse{}, err
	}
	if op == transport.OpMRCancel {
		j.stop()
		return transport.AnalyticsPollResponse{}, nil
	}
	if req.From < 0 {
		return transport.AnalyticsPollResponse{}, fmt.Errorf("analytics: row %d: %w", req.From, parley.ErrInvalid)
	}
	return j.poll(req.From), nil
}

func (e *Engine) lookupJob(user, id string) (*jobRun, error) {
	e.mu.Lock()
	j := e.jobs[id]
	e.mu.Unlock()
	if j == nil || j.user != user {
		return nil, fmt.Errorf("analytics: job %q is not known on this node (its coordinator may have restarted): %w", id, parley.ErrNotFound)
	}
	return j, nil
}

// Cut serves transport.OpMRCut: a room's last seq, for a coordinator
// that does not host the room. The coordinator checked the reader's
// access (and, for All, that the user is an administrator).
func (e *Engine) Cut(ctx context.Context, req transport.CutRequest) (transport.CutResponse, error) {
	seq, err := e.node.RoomCut(ctx, req.Room, chatcore.Reader{User: req.User, Everything: req.All})
	return transport.CutResponse{Seq: seq}, err
}

// cut reads room's last seq for job j: here if this node hosts the room,
// else on the first of its hosts that answers.
func (e *Engine) cut(ctx context.Context, room string, r chatcore.Reader) (uint64, error) {
	local, hosts, err := e.node.RoomHosts(room)
	if err != nil {
		return 0, fmt.Errorf("cut %s: %w", room, err)
	}
	if local {
		cctx, cancel := context.WithTimeout(ctx, cutTimeout)
		defer cancel()
		return e.node.RoomCut(cctx, room, r)
	}
	err = fmt.Errorf("cut %s: no node hosts it: %w", room, parley.ErrUnavailable)
	for _, h := range hosts {
		var resp transport.CutResponse
		cctx, cancel := context.WithTimeout(ctx, cutTimeout)
		err = e.caller.Call(cctx, h.ID, transport.OpMRCut, transport.CutRequest{Room: room, User: r.User, All: r.Everything}, &resp)
		cancel()
		if err == nil {
			return resp.Seq, nil
		}
		var te *transport.Error
		if errors.As(err, &te) && te.Code != transport.CodeUnavailable && te.Code != transport.CodeInternal {
			return 0, err
		}
	}
	return 0, err
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
		return fmt.Errorf("analytics: op %q: %w", op, parley.ErrInvalid)
	}
	return nil
}

// fetchAll copies one partition of an attempt's output on node to path.
func (e *Engine) fetchAll(ctx context.Context, node uint64, req transport.FetchRequest, path string) error {
	f, err := createFile(path)
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

// newJobID names a job coordinated by node: "<node>-<24 hex digits>".
func newJobID(node uint64) string {
	var b [12]byte
	rand.Read(b[:])
	return strconv.FormatUint(node, 10) + "-" + hex.EncodeToString(b[:])
}

// jobCoordinator returns the node a job id names; it accepts only what
// newJobID makes (job ids name directories).
func jobCoordinator(id string) (uint64, error) {
	node, rnd, ok := strings.Cut(id, "-")
	n, err := strconv.ParseUint(node, 10, 64)
	if _, herr := hex.DecodeString(rnd); !ok || err != nil || herr != nil || len(rnd) != 24 || n == 0 {
		return 0, fmt.Errorf("analytics: job id %q: %w", id, parley.ErrInvalid)
	}
	return n, nil
}

// validJobID accepts what newJobID makes.
func validJobID(id string) error {
	_, err := jobCoordinator(id)
	return err
}

// sortRecords orders rs as job wants.
func sortRecords(job *Job, rs []Record) {
	sort.SliceStable(rs, func(a, b int) bool { return job.less(rs[a], rs[b]) })
}
