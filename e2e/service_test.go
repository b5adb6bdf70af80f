package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/freeport"
)

// serviceUnit returns packaging/parleyd.service with ExecStart pointing at
// the parleyd under test (systemd-analyze checks that the program exists).
func serviceUnit(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../packaging/parleyd.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "parleyd.service")
	text := strings.Replace(string(b), "ExecStart=/usr/local/bin/parleyd ", "ExecStart="+parleydBin+" ", 1)
	if text == string(b) {
		t.Fatal("parleyd.service: no ExecStart=/usr/local/bin/parleyd")
	}
	if err := os.WriteFile(unit, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return unit
}

// The systemd unit passes systemd-analyze verify without a word, and its
// hardening rates OK (exposure below 3 of 10) in systemd-analyze security.
func TestServiceUnit(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze not found: install Debian's systemd package (see .ci/run)")
	}
	unit := serviceUnit(t)
	out, err := exec.Command(sa, "verify", unit).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(sa, "security", "--offline=yes", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for [^:]+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: no exposure level in\n%s", out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level >= 3 {
		t.Fatalf("exposure level %v, want below 3:\n%s", level, out)
	}
}

// The sample /etc/parley/parleyd.conf starts a node, with the unit's own
// flags (--data) and the addresses a test needs.
func TestSampleConfigStartsANode(t *testing.T) {
	raft, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	httpAddr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(parleydBin, "--config", "../packaging/parleyd.conf", "--data", t.TempDir(),
		"--listen", "127.0.0.1:0", "--raft", raft, "--http", httpAddr, "--advertise", "127.0.0.1")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, 2*time.Minute, "readyz", func() error {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s", resp.Status)
		}
		return nil
	})
}
