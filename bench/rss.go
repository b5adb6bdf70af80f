package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// RSS is a process's resident memory, in MiB, from /proc/<pid>/status.
type RSS struct {
	// Current is VmRSS.
	Current float64 `json:"rss_mib"`
	// Peak is VmHWM, the high-water mark since the process started or
	// since resetPeakRSS.
	Peak float64 `json:"peak_mib"`
}

// readRSS reads a process's VmRSS and VmHWM.
func readRSS(pid int) (RSS, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return RSS{}, fmt.Errorf("rss: %w", err)
	}
	return parseRSS(string(b))
}

// parseRSS extracts VmRSS and VmHWM from the text of /proc/<pid>/status.
func parseRSS(status string) (RSS, error) {
	var r RSS
	var seen int
	for line := range strings.SplitSeq(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			return RSS{}, fmt.Errorf("rss: %s: %w", k, err)
		}
		mib := round3(kb / 1024)
		if k == "VmRSS" {
			r.Current = mib
		} else {
			r.Peak = mib
		}
		seen++
	}
	if seen != 2 {
		return RSS{}, fmt.Errorf("rss: VmRSS or VmHWM missing")
	}
	return r, nil
}

// resetPeakRSS resets a process's VmHWM to its current RSS (Linux
// clear_refs 5), so that a later VmHWM is the peak of what came after.
func resetPeakRSS(pid int) error {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return fmt.Errorf("rss: reset peak: %w", err)
	}
	return nil
}
