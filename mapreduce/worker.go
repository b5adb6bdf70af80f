package mapreduce

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

const (
	// fetchPage is the most bytes one fetch returns: well inside a frame.
	fetchPage = 256 << 10
	// orphanAfter is how long a worker keeps a job's attempts and output
	// without hearing from its coordinator.
	orphanAfter = 30 * time.Second
	// workerSlots is how many attempts a node runs at once.
	workerSlots = 2
)

// worker runs the map and reduce attempts a coordinator (this node's or
// another's) gives this node, and serves their output.
type worker struct {
	e    *Engine
	dir  string
	slot chan struct{}

	mu   sync.Mutex
	jobs map[string]*workerJob
}

// workerJob is one job's attempts on this node.
type workerJob struct {
	dir      string
	heard    time.Time
	attempts map[uint64]*attempt
}

// attempt is one run of a task on this node.
type attempt struct {
	req     transport.TaskRequest
	dir     string
	cancel  context.CancelFunc
	scanned atomic.Uint64

	mu     sync.Mutex
	state  string
	err    string
	failed uint64
}

func newWorker(e *Engine, dir string) *worker {
	return &worker{e: e, dir: dir, slot: make(chan struct{}, workerSlots), jobs: map[string]*workerJob{}}
}

// start begins an attempt; starting one that runs already changes nothing.
func (w *worker) start(req transport.TaskRequest) error {
	job, err := Lookup(req.Job)
	if err != nil {
		return err
	}
	p, err := ParseParams(job, req.Params)
	if err != nil {
		return err
	}
	if err := validJobID(req.JobID); err != nil {
		return err
	}
	switch {
	case req.Kind == transport.TaskMap && (req.Partitions < 1 || req.Partitions > maxPartitions):
		return fmt.Errorf("task: %d partitions: %w", req.Partitions, parley.ErrInvalid)
	case req.Kind == transport.TaskReduce && (req.Partition < 0 || req.Partition >= maxPartitions):
		return fmt.Errorf("task: partition %d: %w", req.Partition, parley.ErrInvalid)
	case req.Kind != transport.TaskMap && req.Kind != transport.TaskReduce:
		return fmt.Errorf("task: kind %q: %w", req.Kind, parley.ErrInvalid)
	}
	w.mu.Lock()
	select {
	case <-w.e.stop:
		w.mu.Unlock()
		return fmt.Errorf("task: node closing: %w", parley.ErrUnavailable)
	default:
	}
	wj := w.jobs[req.JobID]
	if wj == nil {
		wj = &workerJob{dir: filepath.Join(w.dir, req.JobID), attempts: map[uint64]*attempt{}}
		w.jobs[req.JobID] = wj
	}
	wj.heard = time.Now()
	if wj.attempts[req.Attempt] != nil {
		w.mu.Unlock()
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &attempt{req: req, dir: filepath.Join(wj.dir, strconv.FormatUint(req.Attempt, 10)), cancel: cancel, state: transport.TaskRunning}
	wj.attempts[req.Attempt] = a
	w.e.wg.Add(1)
	w.mu.Unlock()
	go func() {
		defer w.e.wg.Done()
		w.run(ctx, job, p, a)
	}()
	return nil
}

func (w *worker) run(ctx context.Context, job *Job, p *Params, a *attempt) {
	defer a.cancel()
	select {
	case w.slot <- struct{}{}:
		defer func() { <-w.slot }()
	case <-ctx.Done():
		a.finish(ctx.Err(), 0)
		return
	}
	if err := os.MkdirAll(a.dir, 0o700); err != nil {
		a.finish(err, 0)
		return
	}
	var err error
	var failed uint64
	if a.req.Kind == transport.TaskMap {
		err = w.runMap(ctx, job, p, a)
	} else {
		failed, err = w.runReduce(ctx, job, a)
	}
	if err != nil {
		w.e.log.Debug("analytics: attempt failed", "job", a.req.JobID, "attempt", a.req.Attempt, "kind", a.req.Kind, "err", err)
	}
	a.finish(err, failed)
}

func (a *attempt) finish(err error, failed uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.state, a.err, a.failed = transport.TaskFailed, err.Error(), failed
		return
	}
	a.state = transport.TaskDone
}

func partPath(dir string, p int) string { return filepath.Join(dir, fmt.Sprintf("part-%d", p)) }

// runMap scans the attempt's rooms and writes its partitions.
func (w *worker) runMap(ctx context.Context, job *Job, p *Params, a *attempt) error {
	sp := newSpiller(job, a.dir, a.req.Partitions, w.e.memBytes)
	var emitErr error
	emit := func(k string, v Value) {
		if emitErr == nil {
			emitErr = sp.add(k, v)
		}
	}
	for _, r := range a.req.Ranges {
		mapper := job.Map(p, r.Room)
		err := w.e.node.ScanRoom(ctx, r.Room, chatcore.Reader{User: a.req.User, Everything: a.req.Params.All}, r.From, r.To, func(m *parley.Message) error {
			a.scanned.Add(1)
			if w.e.scanDelay > 0 {
				select {
				case <-time.After(w.e.scanDelay):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if m.Kind != "" || !p.inRange(m.TS.UnixNano()) {
				return nil
			}
			mapper(m, emit)
			return emitErr
		})
		if err != nil {
			return fmt.Errorf("map: %w", err)
		}
	}
	if err := sp.finish(func(part int) string { return partPath(a.dir, part) }); err != nil {
		return fmt.Errorf("map: %w", err)
	}
	return nil
}

// runReduce pulls the attempt's partition of every source, then merges and
// reduces them. A source that cannot be fetched is named in failed.
func (w *worker) runReduce(ctx context.Context, job *Job, a *attempt) (failed uint64, err error) {
	runs := make([]string, 0, len(a.req.Sources))
	for _, src := range a.req.Sources {
		path := filepath.Join(a.dir, fmt.Sprintf("src-%d", src.Attempt))
		if err := w.e.fetchAll(ctx, src.Node, transport.FetchRequest{JobID: a.req.JobID, Attempt: src.Attempt, Partition: a.req.Partition}, path); err != nil {
			return src.Node, fmt.Errorf("reduce: fetch from node %d: %w", src.Node, err)
		}
		runs = append(runs, path)
	}
	err = mergeRuns(runs, partPath(a.dir, a.req.Partition), func(key string, vals []Value) []Value {
		return []Value{job.Reduce(key, vals)}
	})
	for _, r := range runs {
		os.Remove(r)
	}
	if err != nil {
		return 0, fmt.Errorf("reduce: %w", err)
	}
	if w.e.reduceDelay > 0 {
		select {
		case <-time.After(w.e.reduceDelay):
		case <-ctx.Done():
			return 0, fmt.Errorf("reduce: %w", ctx.Err())
		}
	}
	return 0, nil
}

// status reports the asked attempts of a job.
func (w *worker) status(req transport.TaskStatusRequest) transport.TaskStatusResponse {
	w.mu.Lock()
	wj := w.jobs[req.JobID]
	if wj != nil {
		wj.heard = time.Now()
	}
	out := transport.TaskStatusResponse{Tasks: make([]transport.TaskStatus, len(req.Attempts))}
	for i, id := range req.Attempts {
		out.Tasks[i] = transport.TaskStatus{Attempt: id, State: transport.TaskUnknown}
		if wj == nil || wj.attempts[id] == nil {
			continue
		}
		a := wj.attempts[id]
		a.mu.Lock()
		out.Tasks[i] = transport.TaskStatus{Attempt: id, State: a.state, Scanned: a.scanned.Load(), Error: a.err, Failed: a.failed}
		a.mu.Unlock()
	}
	w.mu.Unlock()
	return out
}

// fetch reads a page of a finished attempt's partition.
func (w *worker) fetch(req transport.FetchRequest) (transport.FetchResponse, error) {
	w.mu.Lock()
	var a *attempt
	if wj := w.jobs[req.JobID]; wj != nil {
		wj.heard = time.Now()
		a = wj.attempts[req.Attempt]
	}
	w.mu.Unlock()
	if a == nil {
		return transport.FetchResponse{}, fmt.Errorf("fetch: attempt %d of job %s: %w", req.Attempt, req.JobID, parley.ErrNotFound)
	}
	a.mu.Lock()
	state := a.state
	a.mu.Unlock()
	if state != transport.TaskDone {
		return transport.FetchResponse{}, fmt.Errorf("fetch: attempt %d is %s: %w", req.Attempt, state, parley.ErrInvalid)
	}
	if req.Partition < 0 || req.Partition >= maxPartitions || req.Offset < 0 {
		return transport.FetchResponse{}, fmt.Errorf("fetch: partition %d offset %d: %w", req.Partition, req.Offset, parley.ErrInvalid)
	}
	f, err := os.Open(partPath(a.dir, req.Partition))
	if err != nil {
		return transport.FetchResponse{}, fmt.Errorf("fetch: %w", err)
	}
	defer f.Close()
	buf := make([]byte, fetchPage)
	n, err := f.ReadAt(buf, req.Offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return transport.FetchResponse{}, fmt.Errorf("fetch: %w", err)
	}
	return transport.FetchResponse{Data: buf[:n], Next: req.Offset + int64(n), EOF: n < fetchPage}, nil
}

// drop stops attempts of a job (all of them if none are named) and
// deletes their output.
func (w *worker) drop(req transport.DropRequest) {
	w.mu.Lock()
	wj := w.jobs[req.JobID]
	if wj == nil {
		w.mu.Unlock()
		return
	}
	var gone []*attempt
	if len(req.Attempts) == 0 {
		for _, a := range wj.attempts {
			gone = append(gone, a)
		}
		delete(w.jobs, req.JobID)
	} else {
		for _, id := range req.Attempts {
			if a := wj.attempts[id]; a != nil {
				gone = append(gone, a)
				delete(wj.attempts, id)
			}
		}
	}
	w.mu.Unlock()
	for _, a := range gone {
		a.cancel()
	}
	// The attempts' goroutines may still be writing: remove once they see
	// the cancel, in the background.
	go func() {
		for _, a := range gone {
			for a.running() {
				time.Sleep(20 * time.Millisecond)
			}
			os.RemoveAll(a.dir)
		}
		if len(req.Attempts) == 0 {
			os.RemoveAll(wj.dir)
		}
	}()
}

func (a *attempt) running() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state == transport.TaskRunning
}

// stopAll cancels every attempt, for Close: none may read the state db
// after the node closes it.
func (w *worker) stopAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, wj := range w.jobs {
		for _, a := range wj.attempts {
			a.cancel()
		}
	}
}

// sweep drops the jobs whose coordinator has not been heard from for
// orphanAfter: it died or forgot them.
func (w *worker) sweep(now time.Time) {
	w.mu.Lock()
	var old []string
	for id, wj := range w.jobs {
		if now.Sub(wj.heard) > orphanAfter {
			old = append(old, id)
		}
	}
	w.mu.Unlock()
	for _, id := range old {
		w.e.log.Info("analytics: dropping orphaned job", "job", id)
		w.drop(transport.DropRequest{JobID: id})
	}
}
