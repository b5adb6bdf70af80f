package mapreduce

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/fxamacker/cbor/v2"

	"github.com/parleychat/parley"
)

// Value is what a job's Map emits and its Combine and Reduce fold: a count,
// a list of numbers, a set of strings or one message, as the job needs.
type Value struct {
	N    int64           `cbor:"1,keyasint,omitempty"`
	Nums []int64         `cbor:"2,keyasint,omitempty"`
	Set  []string        `cbor:"3,keyasint,omitempty"`
	Msg  *parley.Message `cbor:"4,keyasint,omitempty"`
}

// Record is one key and value of a job's intermediate or reduced data.
type Record struct {
	Key   string `cbor:"1,keyasint"`
	Value Value  `cbor:"2,keyasint"`
}

// recordDec decodes records spilled, fetched or merged by this package:
// the data crossed the network, so it is bounded like any other input.
var recordDec = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxNestedLevels:  8,
		MaxArrayElements: 1 << 20,
		MaxMapPairs:      16,
		IndefLength:      cbor.IndefLengthForbidden,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// runWriter writes a sorted run of records to a file.
type runWriter struct {
	f   *os.File
	w   *bufio.Writer
	enc *cbor.Encoder
	n   int
}

func createRun(path string) (*runWriter, error) {
	f, err := createFile(path)
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	return &runWriter{f: f, w: w, enc: cbor.NewEncoder(w)}, nil
}

func (r *runWriter) write(rec Record) error {
	r.n++
	if err := r.enc.Encode(rec); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return nil
}

func (r *runWriter) close() error {
	err := r.w.Flush()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return nil
}

// createFile creates (or truncates) a file only its owner may read: the
// files hold chat text, in the node's private data directory.
func createFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
}

// runReader reads the records of a run file in order.
type runReader struct {
	f   *os.File
	dec *cbor.Decoder
}

func openRun(path string) (*runReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	return &runReader{f: f, dec: recordDec.NewDecoder(bufio.NewReaderSize(f, 64<<10))}, nil
}

// next returns the next record; ok is false at the end of the run.
func (r *runReader) next() (rec Record, ok bool, err error) {
	if err := r.dec.Decode(&rec); err != nil {
		if errors.Is(err, io.EOF) {
			return Record{}, false, nil
		}
		return Record{}, false, fmt.Errorf("run %s: %w", r.f.Name(), err)
	}
	return rec, true, nil
}

func (r *runReader) close() { r.f.Close() }
