package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/freeport"
)

// parleyd --config FILE takes its settings from the file; a flag on the
// command line wins over the file.
func TestParleydConfigFile(t *testing.T) {
	dir := t.TempDir()
	raft, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	httpAddr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "parleyd.conf")
	data := filepath.Join(dir, "data")
	writeFile(t, conf, fmt.Sprintf(`# a test node
data = %s
name = from-file
listen = 127.0.0.1:0
raft = %s
http = %s
advertise = 127.0.0.1
profile = small
log-format = json
`, data, raft, httpAddr))
	cmd := exec.Command(parleydBin, "--config", conf, "--name", "from-flag")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, 2*time.Minute, "healthz", func() error {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("healthz: %s", resp.Status)
		}
		return nil
	})
	var saved struct{ Name, Raft, HTTP string }
	waitFor(t, 30*time.Second, "parleyd.json", func() error {
		b, err := os.ReadFile(filepath.Join(data, "parleyd.json"))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &saved)
	})
	if saved.Name != "from-flag" || saved.Raft != raft || saved.HTTP != httpAddr {
		t.Fatalf("node runs with %+v; want the name from the flag and the addresses from the file", saved)
	}
}

// A bad config file is a usage error naming the file and line.
func TestParleydBadConfigFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ text, want string }{
		{"data = /tmp/x\n\nlisten-on = :1\n", `:3: unknown setting "listen-on"`},
		{"shards = many\n", `:1: shards = many: `},
		{"config = other.conf\n", `:1: unknown setting "config"`},
		{"data /tmp/x\n", `:1: want key = value`},
	} {
		conf := filepath.Join(dir, "bad.conf")
		writeFile(t, conf, tc.text)
		out, err := exec.Command(parleydBin, "--config", conf).CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), conf+tc.want) {
			t.Errorf("%q: %v\n%s\nwant %q", tc.text, err, out, conf+tc.want)
		}
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
