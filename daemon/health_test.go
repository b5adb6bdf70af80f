package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/daemon/daemontest"
)

func get(addr, path string) (int, string, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// A node of a formed cluster is healthy and ready. Once a majority of the
// cluster is gone it is alive but no longer healthy nor ready, and says
// why; when the majority is back, it is healthy again.
func TestHealthFollowsQuorum(t *testing.T) {
	c := daemontest.StartCluster(t, 3, daemontest.Options{Shards: 2})
	addr := c.Server(0).HTTPAddr()
	for _, path := range []string{"/livez", "/healthz", "/readyz"} {
		chatcoretest.WaitFor(t, 60*time.Second, func() error {
			code, body, err := get(addr, path)
			if err != nil || code != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
				return fmt.Errorf("%s: %d %q %v", path, code, body, err)
			}
			return nil
		})
	}
	c.Stop(1)
	c.Stop(2)
	for _, path := range []string{"/healthz", "/readyz"} {
		chatcoretest.WaitFor(t, 60*time.Second, func() error {
			code, body, err := get(addr, path)
			if err != nil {
				return err
			}
			if code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "no registry quorum: ") || strings.Count(body, "\n") != 1 {
				return fmt.Errorf("%s with 1 of 3 nodes: %d %q, want 503 and one line saying why", path, code, body)
			}
			return nil
		})
	}
	if code, body, err := get(addr, "/livez"); err != nil || code != http.StatusOK {
		t.Fatalf("/livez with 1 of 3 nodes: %d %q %v", code, body, err)
	}
	c.Restart(1)
	chatcoretest.WaitFor(t, 60*time.Second, func() error {
		if code, body, err := get(addr, "/healthz"); err != nil || code != http.StatusOK {
			return fmt.Errorf("/healthz with 2 of 3 nodes: %d %q %v", code, body, err)
		}
		return nil
	})
}
