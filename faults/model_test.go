package faults

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/parleychat/parley"
)

// op builds a porcupine operation for the checker's own tests.
func op(call, ret int64, in opInput, out opOutput) porcupine.Operation {
	return porcupine.Operation{Input: in, Output: out, Call: call, Return: ret}
}

func TestCheckerAcceptsAndRejects(t *testing.T) {
	send := func(id string) opInput { return opInput{Room: "r", Send: true, ID: id} }
	read := opInput{Room: "r"}
	cases := []struct {
		name string
		ops  []porcupine.Operation
		ok   bool
	}{
		{"sequential", []porcupine.Operation{
			op(0, 1, send("a"), opOutput{Seq: 1}),
			op(2, 3, send("b"), opOutput{Seq: 2}),
			op(4, 5, read, opOutput{IDs: "a,b", N: 2}),
		}, true},
		{"concurrent sends in either order", []porcupine.Operation{
			op(0, 10, send("a"), opOutput{Seq: 2}),
			op(0, 10, send("b"), opOutput{Seq: 1}),
			op(11, 12, read, opOutput{IDs: "b,a", N: 2}),
		}, true},
		{"unknown outcome applied later", []porcupine.Operation{
			op(0, 1<<62, send("a"), opOutput{Unknown: true}),
			op(2, 3, read, opOutput{}),
			op(4, 5, read, opOutput{IDs: "a", N: 1}),
		}, true},
		{"unknown outcome never applied", []porcupine.Operation{
			op(0, 1<<62, send("a"), opOutput{Unknown: true}),
			op(4, 5, send("b"), opOutput{Seq: 1}),
			op(6, 7, read, opOutput{IDs: "b", N: 1}),
		}, true},
		{"stale read", []porcupine.Operation{
			op(0, 1, send("a"), opOutput{Seq: 1}),
			op(2, 3, read, opOutput{}),
		}, false},
		{"acknowledged send lost", []porcupine.Operation{
			op(0, 1, send("a"), opOutput{Seq: 1}),
			op(2, 3, send("b"), opOutput{Seq: 2}),
			op(4, 5, read, opOutput{IDs: "b", N: 1}),
		}, false},
		{"real-time order violated", []porcupine.Operation{
			op(0, 1, send("a"), opOutput{Seq: 2}),
			op(2, 3, send("b"), opOutput{Seq: 1}),
		}, false},
		{"two sends at one seq", []porcupine.Operation{
			op(0, 5, send("a"), opOutput{Seq: 1}),
			op(0, 5, send("b"), opOutput{Seq: 1}),
		}, false},
		{"read with a gap", []porcupine.Operation{
			op(0, 1, read, opOutput{Gap: true}),
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			err := CheckLinearizable(tc.ops, 10*time.Second, dir)
			if tc.ok && err != nil {
				t.Fatalf("rejected a linearizable history: %v", err)
			}
			if !tc.ok {
				if err == nil {
					t.Fatal("accepted a history that is not linearizable")
				}
				files, _ := filepath.Glob(filepath.Join(dir, "*.html"))
				if len(files) != 1 || !strings.Contains(err.Error(), files[0]) {
					t.Fatalf("error %q does not name the saved visualisation (files %v)", err, files)
				}
				if b, _ := os.ReadFile(files[0]); len(b) == 0 {
					t.Fatal("empty visualisation")
				}
			}
		})
	}
}

func TestCheckSendsFindsLossAndDuplicates(t *testing.T) {
	a, b := parley.NewMsgID(time.Now()), parley.NewMsgID(time.Now())
	sends := map[string]Send{
		a.String(): {Room: "r", ID: a.String(), Seq: 1},
		b.String(): {Room: "r", ID: b.String(), Seq: 2},
	}
	good := []parley.Message{{Seq: 1, ID: a}, {Seq: 2, ID: b}}
	if _, err := CheckSends("r", good, sends); err != nil {
		t.Fatalf("good log rejected: %v", err)
	}
	for name, log := range map[string][]parley.Message{
		"lost":      {{Seq: 1, ID: a}},
		"duplicate": {{Seq: 1, ID: a}, {Seq: 2, ID: a}},
		"reordered": {{Seq: 1, ID: b}, {Seq: 2, ID: a}},
		"gap":       {{Seq: 1, ID: a}, {Seq: 3, ID: b}},
	} {
		if _, err := CheckSends("r", log, sends); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := CheckReplicas("r", map[string][]parley.Message{"n1": good, "n2": good[:1]}); err == nil {
		t.Error("replicas of different lengths accepted")
	}
	if err := CheckFeed("r", good[:1], good); err == nil {
		t.Error("a feed with a message missing accepted")
	}
}
