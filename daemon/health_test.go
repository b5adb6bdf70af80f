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

// /healthz answers 503 while the node cannot reach a quorum of the
// registry, and 200 again once it can.
func TestHealthzWithoutRegistryQuorum(t *testing.T) {
	cl := daemontest.StartCluster(t, 3, daemontest.Options{Shards: 2})
	health := func() (int, string, error) {
		resp, err := http.Get("http://" + cl.Server(0).HTTPAddr() + "/healthz")
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	if code, body, err := health(); err != nil || code != http.StatusOK {
		t.Fatalf("healthz: %d %s %v", code, body, err)
	}
	cl.Stop(1)
	cl.Stop(2)
	chatcoretest.WaitFor(t, 60*time.Second, func() error {
		code, body, err := health()
		if err != nil {
			return err
		}
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "registry quorum unreachable") {
			return fmt.Errorf("healthz: %d %s", code, body)
		}
		return nil
	})
	cl.Restart(1)
	chatcoretest.WaitFor(t, 60*time.Second, func() error {
		if code, body, err := health(); err != nil || code != http.StatusOK {
			return fmt.Errorf("healthz: %d %s %v", code, body, err)
		}
		return nil
	})
}
