package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley/internal/proccluster"
)

// The kinds of fault the Nemesis injects.
const (
	FaultKill    = "kill -9"
	FaultPause   = "SIGSTOP"
	FaultRestart = "restart"
	FaultIsolate = "isolate one node"
	FaultRing    = "majority ring"
	FaultLoss    = "packet loss"
	FaultDelay   = "delay"
)

// Faults lists every kind of fault.
var Faults = []string{FaultKill, FaultPause, FaultRestart, FaultIsolate, FaultRing, FaultLoss, FaultDelay}

// Nemesis injects one random fault at a time into a cluster: it waits
// until every node answers /healthz, applies a fault, holds it for a
// random while, and repairs it.
type Nemesis struct {
	Cluster *Cluster
	// Hold bounds how long a fault lasts, Gap the pause between faults;
	// each is drawn from [d/2, d].
	Hold, Gap time.Duration
	// Logf logs each fault.
	Logf func(format string, args ...any)

	mu     sync.Mutex
	counts map[string]int
}

// Counts returns how many faults of each kind were injected.
func (m *Nemesis) Counts() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.counts))
	for k, v := range m.counts {
		out[k] = v
	}
	return out
}

// Summary describes Counts in one line.
func (m *Nemesis) Summary() string {
	counts := m.Counts()
	var parts []string
	total := 0
	for k, v := range counts {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
		total += v
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d faults (%s)", total, strings.Join(parts, ", "))
}

// Run injects faults until ctx ends, then repairs everything: every node
// runs, no rule is left and no link is delayed. It fails only if a fault
// cannot be applied or repaired.
func (m *Nemesis) Run(ctx context.Context, rng *rand.Rand) error {
	m.counts = make(map[string]int)
	c := m.Cluster
	for ctx.Err() == nil {
		if err := m.allHealthy(ctx); err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
		if !sleep(ctx, between(rng, m.Gap)) {
			break
		}
		kind := Faults[rng.IntN(len(Faults))]
		i := 1 + rng.IntN(len(c.Nodes))
		n := c.Nodes[i-1]
		var repair func() error
		var what string
		switch kind {
		case FaultKill:
			what = "kill -9 " + n.Name
			c.Probes.Drop(n)
			if err := n.Kill(); err != nil {
				return err
			}
			repair = n.Start
		case FaultPause:
			what = "SIGSTOP " + n.Name
			c.Probes.Drop(n)
			if err := n.Pause(); err != nil {
				return err
			}
			repair = n.Resume
		case FaultRestart:
			what = "restart (SIGTERM) " + n.Name
			c.Probes.Drop(n)
			if err := n.Stop(20 * time.Second); err != nil {
				return err
			}
			repair = n.Start
		case FaultIsolate:
			what = "cut " + n.Name + " off"
			for j := 1; j <= len(c.Nodes); j++ {
				if j != i {
					if err := c.Net.Cut(i, j); err != nil {
						return err
					}
				}
			}
			repair = c.Net.Heal
		case FaultRing:
			// Cut the two nodes other than n from each other: each node
			// still sees a majority, but n is the only bridge.
			a, b := others(i, len(c.Nodes))
			what = fmt.Sprintf("ring: cut n%d from n%d, n%d bridges", a, b, i)
			if err := c.Net.Cut(a, b); err != nil {
				return err
			}
			repair = c.Net.Heal
		case FaultLoss:
			p := 0.05 + 0.25*rng.Float64()
			what = fmt.Sprintf("drop %.0f%% of every node's packets", 100*p)
			for j := 1; j <= len(c.Nodes); j++ {
				if err := c.Net.Loss(j, p); err != nil {
					return err
				}
			}
			repair = c.Net.Heal
		case FaultDelay:
			d := time.Duration(20+rng.IntN(130)) * time.Millisecond
			what = fmt.Sprintf("delay Raft and proxied client links by %v", d)
			c.RaftDelay.Set(d)
			c.ClientDelay.Set(d)
			repair = func() error {
				c.RaftDelay.Set(0)
				c.ClientDelay.Set(0)
				return nil
			}
		}
		m.mu.Lock()
		m.counts[kind]++
		m.mu.Unlock()
		m.Logf("fault: %s", what)
		sleep(ctx, between(rng, m.Hold))
		if err := repair(); err != nil {
			return fmt.Errorf("repair %s: %w", what, err)
		}
		m.Logf("repaired: %s", what)
	}
	return m.repairAll()
}

// repairAll makes sure every node runs and the network is whole.
func (m *Nemesis) repairAll() error {
	c := m.Cluster
	c.RaftDelay.Set(0)
	c.ClientDelay.Set(0)
	if err := c.Net.Heal(); err != nil {
		return err
	}
	for _, n := range c.Nodes {
		if err := resumeOrStart(n); err != nil {
			return err
		}
	}
	return nil
}

// resumeOrStart continues n if it is paused and starts it if it is down.
func resumeOrStart(n *proccluster.Node) error {
	if n.Alive() {
		return nil
	}
	if n.Pid() != 0 {
		return n.Resume()
	}
	return n.Start()
}

// allHealthy waits until every node answers /healthz.
func (m *Nemesis) allHealthy(ctx context.Context) error {
	for _, n := range m.Cluster.Nodes {
		if err := m.Cluster.WaitHealthy(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// others returns the two nodes of 1..3 other than i.
func others(i, size int) (int, int) {
	var out []int
	for j := 1; j <= size && len(out) < 2; j++ {
		if j != i {
			out = append(out, j)
		}
	}
	return out[0], out[1]
}

// between returns a random duration in [d/2, d].
func between(rng *rand.Rand, d time.Duration) time.Duration {
	return d/2 + time.Duration(rng.Int64N(int64(d/2)+1))
}

// sleep waits d or until ctx ends; it reports whether d passed. This is
// the nemesis's schedule, not a synchronisation.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
