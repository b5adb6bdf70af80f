package mapreduce

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

const (
	// callTimeout bounds one node-to-node call.
	callTimeout = 5 * time.Second
	// cutTimeout bounds reading one room's cut: a linearizable read,
	// slow only while the shard elects a leader or the machine is busy.
	cutTimeout = 30 * time.Second
	// startTimeout bounds starting an attempt on a node.
	startTimeout = 2 * time.Second
	// pollEvery is how often the coordinator asks its workers how they do.
	pollEvery = 100 * time.Millisecond
	// silentAfter is how long a node may fail to answer before its
	// attempts are given up and run elsewhere.
	silentAfter = 3 * time.Second
	// taskMessages is about how many messages one map task reads; a
	// bigger shard gets more tasks.
	taskMessages = 50000
	// maxFailures is how often one task may fail before the job does.
	maxFailures = 6
	// pageBytes and pageRows bound how much one poll returns of the rows
	// (a frame holds at most 1 MiB, an array 4096 elements).
	pageBytes = 512 << 10
	pageRows  = 2000
	// taskRooms bounds the rooms of one map task, for the same reason.
	taskRooms = 1000
)

// task is one map or reduce task of a job: a unit of work that one or
// more attempts may run, the first to finish winning.
type task struct {
	kind      string
	shard     uint64
	ranges    []transport.RoomRange
	partition int

	done     bool
	win      *att
	atts     []*att
	took     time.Duration
	failures int
	backedUp bool
	// waitNode is a node whose output a failed reduce could not fetch: the
	// reduce runs again once that node is given up or answers again.
	waitNode  uint64
	waitSince time.Time
	// fatal is the last error of a task that failed maxFailures times.
	fatal string
}

// att is one attempt of a task on a node.
type att struct {
	id      uint64
	node    uint64
	task    *task
	started time.Time
	state   string
	scanned uint64
}

func (a *att) active() bool { return a.state == transport.TaskRunning }

func (t *task) active() int {
	n := 0
	for _, a := range t.atts {
		if a.active() {
			n++
		}
	}
	return n
}

// jobRun is one job this node coordinates.
type jobRun struct {
	e      *Engine
	id     string
	user   string
	job    *Job
	params *Params
	cancel context.CancelFunc

	mu       sync.Mutex
	progress transport.AnalyticsProgress
	done     bool
	// cancelled is set by a client's cancel: the job will never be done.
	cancelled bool
	finished  time.Time
	err       error
	rows      []transport.AnalyticsRow

	// The rest belongs to the run goroutine.
	maps, reduces []*task
	nextAtt       uint64
	dead          map[uint64]bool
	heard         map[uint64]time.Time
	parts         int
	results       []Record
	nBackups      int
	reruns        int
}

func (j *jobRun) isDone() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.done
}

func (j *jobRun) expired(now time.Time) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.done && now.Sub(j.finished) > keepDone
}

// stop cancels the job for its client.
func (j *jobRun) stop() {
	j.mu.Lock()
	if !j.done {
		j.cancelled = true
	}
	j.mu.Unlock()
	j.cancel()
}

// reader is who the job reads rooms as.
func (j *jobRun) reader() chatcore.Reader {
	return chatcore.Reader{User: j.user, Everything: j.params.All}
}

// poll reports progress and, when done, the rows from index from on. A
// cancelled job is never done.
func (j *jobRun) poll(from int) transport.AnalyticsPollResponse {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := transport.AnalyticsPollResponse{Progress: j.progress, Done: j.done}
	if j.cancelled {
		out.Done, out.Cancelled = false, true
		out.Error = &transport.Error{Code: transport.CodeUnavailable, Message: fmt.Sprintf("analytics %s: job %s was cancelled", j.job.Name, j.id)}
		return out
	}
	if !j.done {
		return out
	}
	if j.err != nil {
		out.Error = wireErr(j.err)
		return out
	}
	out.Total = len(j.rows)
	size := 0
	for i := from; i < len(j.rows); i++ {
		r := j.rows[i]
		size += 64 + len(r.Key) + len(r.Value)
		if r.Msg != nil {
			size += 96 + len(r.Msg.Text)
		}
		if (size > pageBytes || i-from >= pageRows) && i > from {
			break
		}
		out.Rows = append(out.Rows, r)
	}
	return out
}

// wireErr keeps a transport error as it is and makes any other an
// internal or invalid one; the daemon maps chatcore errors itself, but a
// job's error travels inside a poll response.
func wireErr(err error) *transport.Error {
	var te *transport.Error
	if errors.As(err, &te) {
		return te
	}
	code := transport.CodeInternal
	switch {
	case errors.Is(err, parley.ErrInvalid):
		code = transport.CodeInvalid
	case errors.Is(err, parley.ErrForbidden):
		code = transport.CodeForbidden
	case errors.Is(err, parley.ErrNotFound):
		code = transport.CodeNotFound
	case errors.Is(err, parley.ErrUnavailable), errors.Is(err, context.Canceled):
		code = transport.CodeUnavailable
	}
	return &transport.Error{Code: code, Message: err.Error()}
}

func (j *jobRun) run(ctx context.Context) {
	start := time.Now()
	err := j.execute(ctx)
	if ctx.Err() != nil && err != nil {
		err = fmt.Errorf("analytics %s: cancelled: %w", j.job.Name, parley.ErrUnavailable)
	}
	var rows []transport.AnalyticsRow
	if err == nil {
		rows, err = j.output()
	}
	j.dropEverywhere()
	j.mu.Lock()
	j.done, j.finished, j.err, j.rows = true, time.Now(), err, rows
	j.mu.Unlock()
	j.e.log.Info("analytics: job finished", "job", j.job.Name, "id", j.id, "user", j.user,
		"took", time.Since(start), "rows", len(rows), "err", err)
}

// rooms lists the rooms the job reads: the ones named, every room of the
// cluster for an administrator's job over all rooms, or else every room the
// user may read. The list is read after a barrier on the registry, so it
// holds every room created before the job started, on any node, as each
// room's cut holds every message sent before.
func (j *jobRun) rooms(ctx context.Context) ([]string, error) {
	if len(j.params.Rooms) > 0 {
		return slices.Compact(slices.Sorted(slices.Values(j.params.Rooms))), nil
	}
	rctx, cancel := context.WithTimeout(ctx, cutTimeout)
	defer cancel()
	recs, err := j.e.node.SyncRooms(rctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range recs {
		if j.params.All || parley.CheckAccess(r.Name, j.user) == nil {
			out = append(out, r.Name)
		}
	}
	return out, nil
}

// plan fixes the job's cut and makes its map tasks.
func (j *jobRun) plan(ctx context.Context) error {
	rooms, err := j.rooms(ctx)
	if err != nil {
		return fmt.Errorf("analytics: rooms: %w", err)
	}
	byShard := map[uint64][]transport.RoomRange{}
	var shards []uint64
	var total uint64
	for _, room := range rooms {
		cut, err := j.e.cut(ctx, room, j.reader())
		if err != nil {
			return fmt.Errorf("analytics: %w", err)
		}
		if cut == 0 {
			continue
		}
		shard, err := j.e.node.RoomShard(room)
		if err != nil {
			return fmt.Errorf("analytics: %w", err)
		}
		if _, ok := byShard[shard]; !ok {
			shards = append(shards, shard)
		}
		byShard[shard] = append(byShard[shard], transport.RoomRange{Room: room, From: 1, To: cut})
		total += cut
	}
	slices.Sort(shards)
	for _, s := range shards {
		for _, rs := range splitRanges(byShard[s], taskMessages, j.job.WholeRooms) {
			j.maps = append(j.maps, &task{kind: transport.TaskMap, shard: s, ranges: rs})
		}
	}
	j.setProgress(func(p *transport.AnalyticsProgress) { p.Messages = total })
	return nil
}

// splitRanges packs a shard's rooms into tasks of about size messages,
// splitting a bigger room by seq unless whole.
func splitRanges(rs []transport.RoomRange, size uint64, whole bool) [][]transport.RoomRange {
	var out [][]transport.RoomRange
	var cur []transport.RoomRange
	var n uint64
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur, n = nil, 0
	}
	for _, r := range rs {
		for r.From <= r.To {
			part := r
			if !whole && r.To-r.From+1 > size-n {
				part.To = r.From + (size - n) - 1
			}
			cur = append(cur, part)
			n += part.To - part.From + 1
			if n >= size || len(cur) >= taskRooms {
				flush()
			}
			r.From = part.To + 1
		}
	}
	flush()
	return out
}

func (j *jobRun) setProgress(f func(*transport.AnalyticsProgress)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f(&j.progress)
}

// execute runs the job to its reduced records.
func (j *jobRun) execute(ctx context.Context) error {
	j.dead, j.heard = map[uint64]bool{}, map[uint64]time.Time{}
	if err := j.plan(ctx); err != nil {
		return err
	}
	nodes, err := j.e.node.Nodes()
	if err != nil {
		return fmt.Errorf("analytics: nodes: %w", err)
	}
	now := time.Now()
	for _, n := range nodes {
		j.heard[n.ID] = now
	}
	j.parts = min(max(len(nodes), 1), maxPartitions)
	if len(j.maps) == 0 {
		return nil
	}
	for p := range j.parts {
		j.reduces = append(j.reduces, &task{kind: transport.TaskReduce, partition: p})
	}
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		j.pollWorkers(ctx)
		if err := j.schedule(ctx); err != nil {
			return err
		}
		j.updateProgress()
		if allDone(j.reduces) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func allDone(ts []*task) bool {
	for _, t := range ts {
		if !t.done {
			return false
		}
	}
	return true
}

// pollWorkers asks every node holding attempts of the job how they do.
// Asking is also how a dead or silent node is noticed.
func (j *jobRun) pollWorkers(ctx context.Context) {
	byNode := map[uint64][]*att{}
	for _, t := range append(slices.Clip(j.maps), j.reduces...) {
		for _, a := range t.atts {
			if a.active() || (t.done && t.win == a && t.kind == transport.TaskMap) {
				byNode[a.node] = append(byNode[a.node], a)
			}
		}
		if t.waitNode != 0 && !j.dead[t.waitNode] {
			byNode[t.waitNode] = append(byNode[t.waitNode], nil)
		}
	}
	type answer struct {
		node uint64
		resp transport.TaskStatusResponse
		err  error
	}
	answers := make(chan answer, len(byNode))
	for node, atts := range byNode {
		req := transport.TaskStatusRequest{JobID: j.id}
		for _, a := range atts {
			if a != nil {
				req.Attempts = append(req.Attempts, a.id)
			}
		}
		go func() {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			var resp transport.TaskStatusResponse
			err := j.e.call(cctx, node, transport.OpMRStatus, req, &resp)
			answers <- answer{node, resp, err}
		}()
	}
	byID := map[uint64]*att{}
	for _, atts := range byNode {
		for _, a := range atts {
			if a != nil {
				byID[a.id] = a
			}
		}
	}
	for range byNode {
		ans := <-answers
		if ans.err != nil {
			j.callFailed(ans.node, ans.err)
			continue
		}
		j.heard[ans.node] = time.Now()
		for _, st := range ans.resp.Tasks {
			if a := byID[st.Attempt]; a != nil && a.node == ans.node {
				j.update(ctx, a, st)
			}
		}
	}
}

// callFailed gives node up once it has not answered for silentAfter.
func (j *jobRun) callFailed(node uint64, err error) {
	if j.dead[node] || time.Since(j.heard[node]) < silentAfter {
		return
	}
	j.e.log.Warn("analytics: node gives no answer, running its tasks elsewhere", "job", j.id, "node", node, "err", err)
	j.dead[node] = true
	reducing := !allDone(j.reduces)
	for _, t := range j.maps {
		for _, a := range t.atts {
			if a.node == node && a.active() {
				a.state = transport.TaskUnknown
			}
		}
		if t.done && t.win.node == node && reducing {
			// Its output is gone with the node, and a reducer needs it.
			t.done, t.win, t.backedUp = false, nil, false
			j.abandonReduces()
		}
	}
	for _, t := range j.reduces {
		for _, a := range t.atts {
			if a.node == node && a.active() {
				a.state = transport.TaskUnknown
			}
		}
	}
}

// abandonReduces abandons the running reduce attempts: a map output they
// read is lost, so they run again once it has been made again.
func (j *jobRun) abandonReduces() {
	for _, t := range j.reduces {
		for _, a := range t.atts {
			if a.active() {
				a.state = transport.TaskUnknown
				j.dropAttempt(a)
			}
		}
	}
}

// update applies one attempt's reported state.
func (j *jobRun) update(ctx context.Context, a *att, st transport.TaskStatus) {
	if st.Scanned > a.scanned {
		a.scanned = st.Scanned
	}
	if !a.active() {
		return
	}
	t := a.task
	switch st.State {
	case transport.TaskRunning:
		return
	case transport.TaskDone:
		a.state = transport.TaskDone
		if t.done {
			return
		}
		if t.kind == transport.TaskReduce {
			if err := j.collect(ctx, a); err != nil {
				j.e.log.Warn("analytics: collect reduce output", "job", j.id, "node", a.node, "err", err)
				a.state = transport.TaskFailed
				t.failures++
				return
			}
		}
		t.done, t.win, t.took = true, a, time.Since(a.started)
		for _, o := range t.atts {
			if o != a && o.active() {
				o.state = transport.TaskUnknown
				j.dropAttempt(o)
			}
		}
	default:
		a.state = transport.TaskFailed
		t.failures++
		j.e.log.Debug("analytics: attempt failed", "job", j.id, "kind", t.kind, "node", a.node, "state", st.State, "err", st.Error)
		if st.Failed != 0 {
			t.waitNode, t.waitSince = st.Failed, time.Now()
		}
		if t.failures >= maxFailures && t.active() == 0 {
			t.fatal = st.Error
		}
	}
}

// dropAttempt tells a's node to stop it and delete its output.
func (j *jobRun) dropAttempt(a *att) {
	if j.dead[a.node] {
		return
	}
	j.e.wg.Add(1)
	go func() {
		defer j.e.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		j.e.call(ctx, a.node, transport.OpMRDrop, transport.DropRequest{JobID: j.id, Attempts: []uint64{a.id}}, nil)
	}()
}

// dropEverywhere tells every node the job touched that it is over.
func (j *jobRun) dropEverywhere() {
	var wg sync.WaitGroup
	for node := range j.heard {
		if j.dead[node] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			j.e.call(ctx, node, transport.OpMRDrop, transport.DropRequest{JobID: j.id}, nil)
		}()
	}
	wg.Wait()
}

// schedule starts attempts for tasks that need one, and backups for
// stragglers. It fails the job when a task keeps failing or has no live
// node left to run on.
func (j *jobRun) schedule(ctx context.Context) error {
	for _, t := range append(slices.Clip(j.maps), j.reduces...) {
		if t.fatal != "" {
			return fmt.Errorf("analytics %s: a %s task failed %d times, last: %s", j.job.Name, t.kind, t.failures, t.fatal)
		}
	}
	phase := j.maps
	if allDone(j.maps) {
		phase = j.reduces
	}
	pending := 0
	for _, t := range phase {
		if t.done || t.active() > 0 {
			continue
		}
		pending++
		if t.kind == transport.TaskReduce && t.waitNode != 0 {
			if !j.dead[t.waitNode] && !j.heard[t.waitNode].After(t.waitSince) {
				continue
			}
			t.waitNode = 0
		}
		node, err := j.pick(t, 0)
		if err != nil {
			return err
		}
		if len(t.atts) > 0 {
			j.reruns++
		}
		j.startAttempt(ctx, t, node)
	}
	if pending > 0 {
		return nil
	}
	return j.backups(ctx, phase)
}

// backups gives a straggler a second attempt on another node: near the end
// of a phase, a task that has run three times as long as the median
// finished one (and at least Config.BackupAfter).
func (j *jobRun) backups(ctx context.Context, phase []*task) error {
	var took []time.Duration
	var running []*task
	for _, t := range phase {
		if t.done {
			took = append(took, t.took)
		} else {
			running = append(running, t)
		}
	}
	if len(took) == 0 || len(running) > max(1, len(phase)/5) {
		return nil
	}
	slices.Sort(took)
	limit := max(3*took[len(took)/2], j.e.backupAt)
	for _, t := range running {
		if t.backedUp || t.active() != 1 {
			continue
		}
		var first *att
		for _, a := range t.atts {
			if a.active() {
				first = a
			}
		}
		if time.Since(first.started) < limit {
			continue
		}
		node, err := j.pick(t, first.node)
		if err != nil || node == first.node {
			continue
		}
		t.backedUp = true
		j.nBackups++
		j.e.log.Info("analytics: backup attempt for a straggler", "job", j.id, "kind", t.kind, "slow", first.node, "backup", node)
		j.startAttempt(ctx, t, node)
	}
	return nil
}

// pick chooses the node for an attempt of t other than avoid: a live node
// holding a replica of a map task's shard (any live node for a reduce),
// the least busy, spreading reduces over the nodes by partition.
func (j *jobRun) pick(t *task, avoid uint64) (uint64, error) {
	var cands []uint64
	if t.kind == transport.TaskMap {
		cands = j.e.replicas(t.shard)
	} else {
		for n := range j.heard {
			cands = append(cands, n)
		}
		slices.Sort(cands)
		if len(cands) > 0 {
			k := t.partition % len(cands)
			cands = append(cands[k:], cands[:k]...)
		}
	}
	load := map[uint64]int{}
	failed := map[uint64]bool{}
	for _, o := range append(slices.Clip(j.maps), j.reduces...) {
		for _, a := range o.atts {
			if a.active() {
				load[a.node]++
			}
			if o == t && a.state == transport.TaskFailed {
				failed[a.node] = true
			}
		}
	}
	best, bestScore := uint64(0), 0
	for _, n := range cands {
		if j.dead[n] || n == avoid {
			continue
		}
		score := load[n] * 2
		if failed[n] {
			score++
		}
		if best == 0 || score < bestScore {
			best, bestScore = n, score
		}
	}
	if best == 0 {
		if avoid != 0 {
			return avoid, nil
		}
		return 0, fmt.Errorf("analytics %s: no live node holds shard %d: %w", j.job.Name, t.shard, parley.ErrUnavailable)
	}
	return best, nil
}

// startAttempt starts an attempt of t on node. A node that refuses is
// handled like one that does not answer.
func (j *jobRun) startAttempt(ctx context.Context, t *task, node uint64) {
	j.nextAtt++
	a := &att{id: j.nextAtt, node: node, task: t, started: time.Now(), state: transport.TaskRunning}
	req := transport.TaskRequest{JobID: j.id, Attempt: a.id, Kind: t.kind, Job: j.job.Name, User: j.user, Params: j.params.AnalyticsParams}
	if t.kind == transport.TaskMap {
		req.Ranges, req.Partitions = t.ranges, j.parts
	} else {
		req.Partition = t.partition
		for _, m := range j.maps {
			req.Sources = append(req.Sources, transport.TaskSource{Attempt: m.win.id, Node: m.win.node})
		}
	}
	cctx, cancel := context.WithTimeout(ctx, startTimeout)
	err := j.e.call(cctx, node, transport.OpMRTask, req, nil)
	cancel()
	if err != nil {
		j.e.log.Debug("analytics: start attempt", "job", j.id, "node", node, "err", err)
		j.callFailed(node, err)
		return
	}
	j.heard[node] = time.Now()
	t.atts = append(t.atts, a)
}

// collect fetches a finished reduce attempt's partition and keeps the
// job's limit of its best records.
func (j *jobRun) collect(ctx context.Context, a *att) error {
	path := filepath.Join(j.e.worker.dir, fmt.Sprintf("collect-%s-%d", j.id, a.id))
	defer os.Remove(path)
	if err := j.e.fetchAll(ctx, a.node, transport.FetchRequest{JobID: j.id, Attempt: a.id, Partition: a.task.partition}, path); err != nil {
		return err
	}
	limit := j.job.limit(j.params)
	return mergeInto([]string{path}, func(key string, vals []Value) error {
		for _, v := range vals {
			j.results = append(j.results, Record{Key: key, Value: v})
		}
		if len(j.results) > 2*limit+1024 {
			sortRecords(j.job, j.results)
			j.results = j.results[:limit]
		}
		return nil
	})
}

// output orders the collected records and makes the rows.
func (j *jobRun) output() ([]transport.AnalyticsRow, error) {
	sortRecords(j.job, j.results)
	if limit := j.job.limit(j.params); len(j.results) > limit {
		j.results = j.results[:limit]
	}
	rows := make([]transport.AnalyticsRow, 0, len(j.results))
	for _, r := range j.results {
		row, err := j.job.Output(j.params, r)
		if err != nil {
			return nil, fmt.Errorf("analytics %s: %w", j.job.Name, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// updateProgress publishes tasks done and messages scanned.
func (j *jobRun) updateProgress() {
	done := 0
	var scanned uint64
	for _, t := range j.maps {
		best := uint64(0)
		for _, a := range t.atts {
			best = max(best, a.scanned)
		}
		if t.done {
			done++
			best = t.win.scanned
		}
		scanned += best
	}
	for _, t := range j.reduces {
		if t.done {
			done++
		}
	}
	load := map[uint64]*transport.NodeTasks{}
	var running []transport.NodeTasks
	for _, t := range append(slices.Clip(j.maps), j.reduces...) {
		for _, a := range t.atts {
			if !a.active() {
				continue
			}
			if load[a.node] == nil {
				load[a.node] = &transport.NodeTasks{Node: a.node}
			}
			if t.kind == transport.TaskMap {
				load[a.node].Maps++
			} else {
				load[a.node].Reduces++
			}
		}
		if t.kind == transport.TaskMap && t.done && !allDone(j.reduces) {
			n := t.win.node
			if load[n] == nil {
				load[n] = &transport.NodeTasks{Node: n}
			}
			load[n].Outputs++
		}
	}
	for _, l := range load {
		running = append(running, *l)
	}
	slices.SortFunc(running, func(a, b transport.NodeTasks) int { return int(a.Node) - int(b.Node) })
	j.setProgress(func(p *transport.AnalyticsProgress) {
		p.TasksDone, p.TasksTotal, p.Scanned, p.Running = done, len(j.maps)+len(j.reduces), scanned, running
		p.Coordinator, p.Backups, p.Reruns, p.JobID = j.e.node.ID(), j.nBackups, j.reruns, j.id
	})
}
