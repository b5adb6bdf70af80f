package bench

import (
	"os"
	"testing"
	"time"
)

func TestParseRSS(t *testing.T) {
	status := "Name:\tparleyd\nVmPeak:\t  900000 kB\nVmHWM:\t   65536 kB\nVmRSS:\t   51200 kB\nThreads:\t12\n"
	r, err := parseRSS(status)
	if err != nil {
		t.Fatal(err)
	}
	if r.Current != 50 || r.Peak != 64 {
		t.Fatalf("got %+v, want 50 MiB now, 64 MiB peak", r)
	}
	if _, err := parseRSS("Name:\tx\nVmRSS:\t12 kB\n"); err == nil {
		t.Fatal("status without VmHWM accepted")
	}
	if _, err := readRSS(os.Getpid()); err != nil {
		t.Fatalf("own RSS: %v", err)
	}
}

func TestParseCPUTime(t *testing.T) {
	// Fields after the command name: state ppid pgrp session tty tpgid
	// flags minflt cminflt majflt cmajflt utime stime ...
	stat := []byte("123 (a (weird) name) S 1 1 1 0 -1 0 0 0 0 0 250 50 0 0 20 0 1 0")
	d, err := parseCPUTime(stat)
	if err != nil {
		t.Fatal(err)
	}
	if d != 3*time.Second {
		t.Fatalf("got %v, want 3s", d)
	}
	if _, err := parseCPUTime([]byte("garbage")); err == nil {
		t.Fatal("garbage accepted")
	}
}
