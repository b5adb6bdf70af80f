package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HostCPU is how the whole machine's CPU time went over a window, in
// percent of all its cores: idle, waiting for the disk, or taken by the
// hypervisor for other guests (steal). A throughput row whose processes
// used little CPU while the host was not idle was measured on a machine
// busy with something else, and says little.
type HostCPU struct {
	IdlePct   float64 `json:"idle_pct"`
	IOWaitPct float64 `json:"iowait_pct"`
	StealPct  float64 `json:"steal_pct"`
}

// hostTimes are the machine's CPU time counters from /proc/stat, in clock
// ticks summed over all cores.
type hostTimes struct {
	total, idle, iowait, steal uint64
}

// readHostTimes reads the machine's CPU time counters.
func readHostTimes() (hostTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return hostTimes{}, fmt.Errorf("host cpu: %w", err)
	}
	return parseHostTimes(b)
}

// parseHostTimes extracts the counters of the "cpu" line (all cores) of
// the text of /proc/stat: user, nice, system, idle, iowait, irq, softirq,
// steal, then guest times, which user already counts.
func parseHostTimes(stat []byte) (hostTimes, error) {
	sc := bufio.NewScanner(bytes.NewReader(stat))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "cpu" {
			continue
		}
		if len(f) < 9 {
			return hostTimes{}, fmt.Errorf("host cpu: malformed cpu line %q", sc.Text())
		}
		var v [8]uint64
		for i := range v {
			n, err := strconv.ParseUint(f[i+1], 10, 64)
			if err != nil {
				return hostTimes{}, fmt.Errorf("host cpu: malformed cpu line %q", sc.Text())
			}
			v[i] = n
		}
		var t hostTimes
		for _, n := range v {
			t.total += n
		}
		t.idle, t.iowait, t.steal = v[3], v[4], v[7]
		return t, nil
	}
	return hostTimes{}, fmt.Errorf("host cpu: no cpu line")
}

// since returns how the machine's CPU time went between t0 and t, or nil
// if no time passed.
func (t hostTimes) since(t0 hostTimes) *HostCPU {
	if t.total <= t0.total {
		return nil
	}
	total := float64(t.total - t0.total)
	pct := func(a, b uint64) float64 { return round3(100 * float64(a-b) / total) }
	return &HostCPU{IdlePct: pct(t.idle, t0.idle), IOWaitPct: pct(t.iowait, t0.iowait), StealPct: pct(t.steal, t0.steal)}
}

// hostSampleEvery is how often a hostSampler reads the machine's counters.
const hostSampleEvery = 200 * time.Millisecond

// hostSampler reads the machine's CPU counters periodically, for a window
// that another process measures and reports only afterwards.
type hostSampler struct {
	stopCh chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	all    hostSamples
}

// hostSample is the machine's counters at one moment.
type hostSample struct {
	at time.Time
	t  hostTimes
}

// hostSamples are a hostSampler's readings, oldest first.
type hostSamples []hostSample

// startHostSampler starts reading the machine's counters every period.
func startHostSampler(every time.Duration) *hostSampler {
	s := &hostSampler{stopCh: make(chan struct{})}
	s.wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			if t, err := readHostTimes(); err == nil {
				s.mu.Lock()
				s.all = append(s.all, hostSample{time.Now(), t})
				s.mu.Unlock()
			}
			select {
			case <-s.stopCh:
				return
			case <-tick.C:
			}
		}
	})
	return s
}

// stop ends the sampling with a last reading, so that a window that ended
// before the call is spanned, and returns the readings.
func (s *hostSampler) stop() hostSamples {
	close(s.stopCh)
	s.wg.Wait()
	if t, err := readHostTimes(); err == nil {
		s.all = append(s.all, hostSample{time.Now(), t})
	}
	return s.all
}

// between returns how the machine's CPU went from the last reading at or
// before from to the first at or after to, or nil if the readings do not
// span the window.
func (ss hostSamples) between(from, to time.Time) *HostCPU {
	var first, last *hostSample
	for i := range ss {
		if !ss[i].at.After(from) {
			first = &ss[i]
		}
		if last == nil && !ss[i].at.Before(to) {
			last = &ss[i]
		}
	}
	if first == nil || last == nil {
		return nil
	}
	return last.t.since(first.t)
}
