package mapreduce

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// Mapper is a map function bound to one room: it is called with the
// room's chat messages in the job's cut and time range, in seq order, and
// emits any number of records.
type Mapper func(m *parley.Message, emit func(key string, v Value))

// Job is a named MapReduce job. Map, Reduce and Output are required.
type Job struct {
	// Name is what clients ask for (lower case, dashes).
	Name string
	// Summary is one line for "parley analytics list".
	Summary string
	// NeedsQuery marks a job that requires Params.Query.
	NeedsQuery bool
	// WholeRooms makes every room's messages reach one Mapper, whole and
	// in order: the room is never split between map tasks.
	WholeRooms bool
	// DefaultLimit is the number of rows without --limit (0: MaxLimit).
	DefaultLimit int
	// Map makes the Mapper of one room.
	Map func(p *Params, room string) Mapper
	// Combine, if set, folds two values of one key into one; the map side
	// uses it to shrink its output. It must be associative and
	// commutative.
	Combine func(a, b Value) Value
	// Reduce folds every value of one key into the key's result.
	Reduce func(key string, vals []Value) Value
	// Output makes a result row from a reduced record.
	Output func(p *Params, r Record) (transport.AnalyticsRow, error)
	// Less orders result rows; nil orders them by key.
	Less func(a, b Record) bool
}

var (
	jobsMu sync.RWMutex
	jobs   = map[string]*Job{}
)

// Register adds a job. Registering a name twice, or a job without Map,
// Reduce or Output, panics: jobs are registered in code, at init.
func Register(j *Job) {
	if j.Name == "" || j.Map == nil || j.Reduce == nil || j.Output == nil {
		panic(fmt.Sprintf("mapreduce: job %q is incomplete", j.Name))
	}
	jobsMu.Lock()
	defer jobsMu.Unlock()
	if _, dup := jobs[j.Name]; dup {
		panic(fmt.Sprintf("mapreduce: job %q registered twice", j.Name))
	}
	jobs[j.Name] = j
}

// Lookup returns the job named name.
func Lookup(name string) (*Job, error) {
	jobsMu.RLock()
	defer jobsMu.RUnlock()
	j, ok := jobs[name]
	if !ok {
		return nil, fmt.Errorf("analytics: unknown job %q (see parley analytics list): %w", name, parley.ErrInvalid)
	}
	return j, nil
}

// Jobs lists the registered jobs in name order.
func Jobs() []*Job {
	jobsMu.RLock()
	defer jobsMu.RUnlock()
	out := make([]*Job, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, j)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// less orders records as j wants its rows.
func (j *Job) less(a, b Record) bool {
	if j.Less != nil {
		return j.Less(a, b)
	}
	return a.Key < b.Key
}

// limit is the number of rows p asks of j.
func (j *Job) limit(p *Params) int {
	if p.Limit > 0 {
		return p.Limit
	}
	if j.DefaultLimit > 0 {
		return j.DefaultLimit
	}
	return MaxLimit
}

// combineAll folds vals with Combine when there is one, else keeps them.
func (j *Job) combineAll(vals []Value) []Value {
	if j.Combine == nil || len(vals) < 2 {
		return vals
	}
	acc := vals[0]
	for _, v := range vals[1:] {
		acc = j.Combine(acc, v)
	}
	return []Value{acc}
}

// sumValues adds counts.
func sumValues(a, b Value) Value { return Value{N: a.N + b.N} }

// sumReduce reduces counts.
func sumReduce(_ string, vals []Value) Value {
	var n int64
	for _, v := range vals {
		n += v.N
	}
	return Value{N: n}
}

// unionValues merges two sorted string sets.
func unionValues(a, b Value) Value {
	out := make([]string, 0, len(a.Set)+len(b.Set))
	out = append(append(out, a.Set...), b.Set...)
	slices.Sort(out)
	return Value{Set: slices.Compact(out)}
}

// concatValues appends number lists.
func concatValues(a, b Value) Value {
	return Value{Nums: append(slices.Clip(a.Nums), b.Nums...)}
}
