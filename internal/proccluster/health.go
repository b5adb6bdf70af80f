package proccluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// healthClient asks the nodes' /livez.
//
// /livez, not /healthz: a node is started once its process serves with its
// node open, and /healthz also needs the registry's quorum, which a node
// restarted before the others cannot have.
var healthClient = &http.Client{Timeout: 2 * time.Second}

// Health is what a node's /livez (and /healthz) answers.
type Health struct {
	// Node is the node's registry id.
	Node uint64 `json:"node"`
	// Clients is the address the node advertises to clients.
	Clients string `json:"clients"`
	// Pid is the process id of the parleyd that answered.
	Pid int `json:"pid"`
}

// ErrNotOurs is returned by CheckHealthy when another process than the
// node's answers its /livez: its port is taken, say by an old cluster.
// Waiting longer does not help.
var ErrNotOurs = errors.New("another process answers its health checks")

// CheckHealthy asks the node's /livez once. It succeeds if the node
// answers 200 with its registry id, the answer comes from the process the
// node started (else the error wraps ErrNotOurs), and check, if not nil,
// accepts the answer; the node then records its id. An error of check's
// is returned as it is.
func (n *Node) CheckHealthy(ctx context.Context, check func(Health) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.HTTP+"/livez", nil)
	if err != nil {
		return fmt.Errorf("%s: livez: %w", n.Name, err)
	}
	resp, err := healthClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: livez: %w", n.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: livez: %s", n.Name, resp.Status)
	}
	var h Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return fmt.Errorf("%s: livez: %w", n.Name, err)
	}
	pid := n.Pid()
	if pid == 0 {
		return fmt.Errorf("%s: livez: the node's process does not run", n.Name)
	}
	if h.Pid != pid {
		return fmt.Errorf("%s: %w: pid %d answers http://%s/livez, not the node's process (pid %d); is another cluster running on its ports?",
			n.Name, ErrNotOurs, h.Pid, n.HTTP, pid)
	}
	if h.Node == 0 {
		return fmt.Errorf("%s: livez: no node id yet", n.Name)
	}
	if check != nil {
		if err := check(h); err != nil {
			return err
		}
	}
	n.mu.Lock()
	n.id = h.Node
	n.mu.Unlock()
	return nil
}
