package mapreduce

import (
	"fmt"
	"hash/fnv"
	"path/filepath"
	"slices"
)

// DefaultMemBytes bounds about how much a map attempt keeps in memory
// before it spills sorted runs to disk.
const DefaultMemBytes = 16 << 20

// partition is the reduce partition of key among parts.
func partition(key string, parts int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(parts))
}

// valueSize estimates the memory a value takes.
func valueSize(v Value) int {
	n := 32 + 8*len(v.Nums)
	for _, s := range v.Set {
		n += 16 + len(s)
	}
	if v.Msg != nil {
		n += 96 + len(v.Msg.Text) + len(v.Msg.Room) + len(v.Msg.User)
	}
	return n
}

// spiller is a map attempt's output: records partitioned by key hash,
// combined in memory, and spilled as one sorted run per partition
// whenever about bound bytes are held.
type spiller struct {
	job   *Job
	dir   string
	bound int

	mem  []map[string][]Value
	size int
	runs [][]string
	n    int
}

func newSpiller(job *Job, dir string, parts, bound int) *spiller {
	s := &spiller{job: job, dir: dir, bound: bound, mem: make([]map[string][]Value, parts), runs: make([][]string, parts)}
	for i := range s.mem {
		s.mem[i] = map[string][]Value{}
	}
	return s
}

// add records one emitted key and value.
func (s *spiller) add(key string, v Value) error {
	m := s.mem[partition(key, len(s.mem))]
	old, ok := m[key]
	if !ok {
		s.size += 48 + len(key)
	}
	if s.job.Combine != nil && len(old) == 1 {
		s.size -= valueSize(old[0])
		nv := s.job.Combine(old[0], v)
		s.size += valueSize(nv)
		old[0] = nv
	} else {
		m[key] = append(old, v)
		s.size += valueSize(v)
	}
	if s.size >= s.bound {
		return s.spill()
	}
	return nil
}

// spill writes every partition held in memory as a sorted run.
func (s *spiller) spill() error {
	for p, m := range s.mem {
		if len(m) == 0 {
			continue
		}
		s.n++
		path := filepath.Join(s.dir, fmt.Sprintf("spill-%d-%d", p, s.n))
		if err := writeSorted(path, m); err != nil {
			return err
		}
		s.runs[p] = append(s.runs[p], path)
		s.mem[p] = map[string][]Value{}
	}
	s.size = 0
	return nil
}

// spills is how many runs were spilled.
func (s *spiller) spills() int { return s.n }

// finish writes partition p's output to out(p), merging the spilled runs.
func (s *spiller) finish(out func(p int) string) error {
	spilled := s.n > 0
	if spilled {
		if err := s.spill(); err != nil {
			return err
		}
	}
	for p := range s.mem {
		if !spilled {
			if err := writeSorted(out(p), s.mem[p]); err != nil {
				return err
			}
			continue
		}
		err := mergeRuns(s.runs[p], out(p), func(_ string, vals []Value) []Value { return s.job.combineAll(vals) })
		if err != nil {
			return err
		}
	}
	return nil
}

// writeSorted writes m's records in key order.
func writeSorted(path string, m map[string][]Value) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w, err := createRun(path)
	if err != nil {
		return err
	}
	for _, k := range keys {
		for _, v := range m[k] {
			if err := w.write(Record{Key: k, Value: v}); err != nil {
				w.close()
				return err
			}
		}
	}
	return w.close()
}
