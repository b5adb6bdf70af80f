package mapreduce

import (
	"container/heap"
	"os"
)

// mergeRuns merges sorted runs into one sorted run at out. The values of
// each key, from every run, are handed to fold together, and what it
// returns is written under the key. Only one key's values are held in
// memory at a time.
func mergeRuns(runs []string, out string, fold func(key string, vals []Value) []Value) error {
	w, err := createRun(out)
	if err != nil {
		return err
	}
	if err := mergeInto(runs, func(key string, vals []Value) error {
		for _, v := range fold(key, vals) {
			if err := w.write(Record{Key: key, Value: v}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		w.close()
		os.Remove(out)
		return err
	}
	return w.close()
}

// mergeInto reads sorted runs in key order and calls each with every key
// and all its values.
func mergeInto(runs []string, each func(key string, vals []Value) error) error {
	h := &runHeap{}
	defer func() {
		for _, c := range h.items {
			c.r.close()
		}
	}()
	for _, path := range runs {
		r, err := openRun(path)
		if err != nil {
			return err
		}
		rec, ok, err := r.next()
		if err != nil || !ok {
			r.close()
			if err != nil {
				return err
			}
			continue
		}
		h.items = append(h.items, &cursor{r: r, rec: rec})
	}
	heap.Init(h)
	var (
		key  string
		vals []Value
	)
	for h.Len() > 0 {
		c := h.items[0]
		if len(vals) > 0 && c.rec.Key != key {
			if err := each(key, vals); err != nil {
				return err
			}
			vals = nil
		}
		key = c.rec.Key
		vals = append(vals, c.rec.Value)
		rec, ok, err := c.r.next()
		if err != nil {
			return err
		}
		if ok {
			c.rec = rec
			heap.Fix(h, 0)
		} else {
			c.r.close()
			heap.Pop(h)
		}
	}
	if len(vals) > 0 {
		return each(key, vals)
	}
	return nil
}

type cursor struct {
	r   *runReader
	rec Record
}

// runHeap orders run cursors by their current key.
type runHeap struct{ items []*cursor }

func (h *runHeap) Len() int           { return len(h.items) }
func (h *runHeap) Less(i, j int) bool { return h.items[i].rec.Key < h.items[j].rec.Key }
func (h *runHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *runHeap) Push(x any)         { h.items = append(h.items, x.(*cursor)) }
func (h *runHeap) Pop() any {
	old := h.items
	c := old[len(old)-1]
	h.items = old[:len(old)-1]
	return c
}
