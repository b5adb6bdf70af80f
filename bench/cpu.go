package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux this runs on).
const clockTick = 10 * time.Millisecond

// cpuTime returns the CPU time (user + system) a process has used.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu: %w", err)
	}
	return parseCPUTime(b)
}

// parseCPUTime extracts utime + stime from the text of /proc/<pid>/stat.
func parseCPUTime(stat []byte) (time.Duration, error) {
	// The command name is in parentheses and may hold spaces; fields
	// count from the state after it: state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu: malformed stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu: malformed stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu: malformed stat")
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// cpuMeter measures the CPU a set of processes uses over an interval, and
// how the whole machine's went.
type cpuMeter struct {
	pids  map[string]int
	start map[string]time.Duration
	t0    time.Time
	// host0 is the machine's counters at the start; hostOK is false if
	// they could not be read.
	host0  hostTimes
	hostOK bool
}

// newCPUMeter starts measuring the named processes (and this one, as
// "bench").
func newCPUMeter(pids map[string]int) *cpuMeter {
	m := &cpuMeter{pids: map[string]int{"bench": os.Getpid()}, start: make(map[string]time.Duration), t0: time.Now()}
	for k, v := range pids {
		m.pids[k] = v
	}
	for name, pid := range m.pids {
		if t, err := cpuTime(pid); err == nil {
			m.start[name] = t
		}
	}
	h, err := readHostTimes()
	m.host0, m.hostOK = h, err == nil
	return m
}

// host returns how the machine's CPU time went since newCPUMeter, or nil
// if that is unknown.
func (m *cpuMeter) host() *HostCPU {
	if !m.hostOK {
		return nil
	}
	h, err := readHostTimes()
	if err != nil {
		return nil
	}
	return h.since(m.host0)
}

// CPU is the CPU a process used over an interval, in percent of one core.
type CPU map[string]float64

// stop returns each process's CPU use since newCPUMeter, in percent of
// one core; a process gone meanwhile is left out.
func (m *cpuMeter) stop() CPU {
	wall := time.Since(m.t0)
	out := make(CPU)
	for name, pid := range m.pids {
		t0, ok := m.start[name]
		t1, err := cpuTime(pid)
		if !ok || err != nil || wall <= 0 {
			continue
		}
		out[name] = round3(100 * float64(t1-t0) / float64(wall))
	}
	return out
}

// split returns the summed CPU of the servers and of the load generator
// ("bench" or "load"), in percent of one core.
func (c CPU) split() (servers, load float64) {
	for name, v := range c {
		if name == "bench" || name == "load" {
			load += v
		} else {
			servers += v
		}
	}
	return round3(servers), round3(load)
}
