package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuTime returns the CPU time (user + system) a process has used, from
// /proc/<pid>/stat, whose utime and stime count 10 ms ticks.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu: %w", err)
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu: malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu: malformed stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu: malformed stat")
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// parsePids parses "name=pid,..." and adds this process as "load".
func parsePids(s string) (map[string]int, error) {
	out := map[string]int{"load": os.Getpid()}
	if s == "" {
		return out, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		pid, err := strconv.Atoi(v)
		if !ok || err != nil {
			return nil, fmt.Errorf("--pids: bad entry %q", part)
		}
		out[k] = pid
	}
	return out, nil
}

// cpuSince returns each process's CPU use since start (taken wall ago),
// in percent of one core.
func cpuSince(pids map[string]int, start map[string]time.Duration, wall time.Duration) map[string]float64 {
	out := make(map[string]float64)
	for name, pid := range pids {
		t1, err := cpuTime(pid)
		t0, ok := start[name]
		if err != nil || !ok || wall <= 0 {
			continue
		}
		out[name] = float64(int64(1000*100*float64(t1-t0)/float64(wall))) / 1000
	}
	return out
}

// cpuNow reads every process's CPU time.
func cpuNow(pids map[string]int) map[string]time.Duration {
	out := make(map[string]time.Duration)
	for name, pid := range pids {
		if t, err := cpuTime(pid); err == nil {
			out[name] = t
		}
	}
	return out
}
