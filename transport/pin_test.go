package transport

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/pki"
)

func openKnown(t *testing.T) (*KnownClusters, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cfg", "parley", "known_clusters")
	known, err := OpenKnownClusters(path)
	if err != nil {
		t.Fatal(err)
	}
	return known, path
}

// restartOn listens again on addr once the previous listener's UDP socket
// is released (quic-go frees it after its closed connections drain).
func restartOn(t *testing.T, addr string, conf *tls.Config) *echoServer {
	t.Helper()
	// quic-go keeps the socket until the old server's connections have
	// drained, up to an idle timeout and more on a loaded machine.
	deadline := time.Now().Add(45 * time.Second)
	for {
		c, err := net.ListenPacket("udp", addr)
		if err == nil {
			c.Close()
			return startEcho(t, addr, conf)
		}
		if time.Now().After(deadline) {
			t.Fatalf("port of %s not released: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}

func TestAcceptNewRecordsPin(t *testing.T) {
	ca := newTestCA(t, "one")
	s := startEcho(t, "127.0.0.1:0", ca.serverTLS(t, "n1"))
	known, path := openKnown(t)

	conn, err := dial(t, s.addr, ClientTLSConfig(s.addr, nil, known))
	if err != nil {
		t.Fatal(err)
	}
	if got := PeerCA(conn.ConnectionState().TLS); got == nil || !got.Equal(ca.Cert) {
		t.Fatalf("PeerCA = %v, want the cluster CA", got)
	}
	if err := roundTrip(t.Context(), conn); err != nil {
		t.Fatal(err)
	}
	fp := pki.Fingerprint(ca.Cert.Raw)
	if got, ok := known.Lookup(s.addr); !ok || got != fp {
		t.Fatalf("Lookup = %q, %v; want %q", got, ok, fp)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := s.addr + " " + fp + "\n"; string(data) != want {
		t.Fatalf("known_clusters = %q, want %q", data, want)
	}
	assertMode(t, path, 0o600)
	assertMode(t, filepath.Dir(path), 0o700|os.ModeDir)

	// A second connection to the same cluster changes nothing.
	if _, err := dial(t, s.addr, ClientTLSConfig(s.addr, nil, known)); err != nil {
		t.Fatal(err)
	}
	again, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Fatalf("known_clusters rewritten: %q", again)
	}
	// A fresh process sees the pin.
	reopened, err := OpenKnownClusters(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := reopened.Lookup(s.addr); got != fp {
		t.Fatalf("reopened Lookup = %q, want %q", got, fp)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
	}
}

func TestChangedCARefused(t *testing.T) {
	ca1 := newTestCA(t, "one")
	ca2 := newTestCA(t, "two")
	s := startEcho(t, "127.0.0.1:0", ca1.serverTLS(t, "n1"))
	addr := s.addr
	known, path := openKnown(t)
	if _, err := dial(t, addr, ClientTLSConfig(addr, nil, known)); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// Another cluster now answers on the same address.
	s.close()
	restartOn(t, addr, ca2.serverTLS(t, "n1"))
	_, err = dial(t, addr, ClientTLSConfig(addr, nil, known))
	if !errors.Is(err, ErrCAChanged) {
		t.Fatalf("Dial: %v, want ErrCAChanged", err)
	}
	if !strings.Contains(err.Error(), "known_clusters") || !strings.Contains(err.Error(), "--ca") {
		t.Errorf("error does not say how to fix it: %v", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatalf("known_clusters changed:\n%s\nto\n%s", before, after)
	}
	if got, _ := known.Lookup(addr); got != pki.Fingerprint(ca1.Cert.Raw) {
		t.Fatalf("pin changed in memory to %q", got)
	}

	// --ca pins the new CA explicitly and wins over known_clusters.
	if _, err := dial(t, addr, ClientTLSConfig(addr, ca2.Cert, known)); err != nil {
		t.Fatalf("Dial with --ca: %v", err)
	}
	// Removing the line by hand lets the new CA be accepted anew, even by a
	// KnownClusters opened before the edit.
	if err := os.WriteFile(path, []byte("# emptied by hand\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := dial(t, addr, ClientTLSConfig(addr, nil, known)); err != nil {
		t.Fatalf("Dial after removing the pin: %v", err)
	}
	if got, _ := known.Lookup(addr); got != pki.Fingerprint(ca2.Cert.Raw) {
		t.Fatalf("pin = %q, want the new CA", got)
	}
}

func TestPinnedCAMismatch(t *testing.T) {
	ca1 := newTestCA(t, "one")
	ca2 := newTestCA(t, "two")
	s := startEcho(t, "127.0.0.1:0", ca1.serverTLS(t, "n1"))
	known, path := openKnown(t)

	_, err := dial(t, s.addr, ClientTLSConfig(s.addr, ca2.Cert, known))
	if !errors.Is(err, ErrUnknownCA) {
		t.Fatalf("Dial: %v, want ErrUnknownCA", err)
	}
	conn, err := dial(t, s.addr, ClientTLSConfig(s.addr, ca1.Cert, known))
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(t.Context(), conn); err != nil {
		t.Fatal(err)
	}
	// An explicit pin is not recorded.
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("known_clusters written with --ca: %v", err)
	}
}

func TestServerWithoutCAInChainRefused(t *testing.T) {
	ca := newTestCA(t, "one")
	conf := ca.serverTLS(t, "n1")
	conf.Certificates[0].Certificate = conf.Certificates[0].Certificate[:1]
	s := startEcho(t, "127.0.0.1:0", conf)
	known, path := openKnown(t)
	if _, err := dial(t, s.addr, ClientTLSConfig(s.addr, nil, known)); err == nil {
		t.Fatal("accepted a server that does not present its CA")
	}
	if _, err := dial(t, s.addr, ClientTLSConfig(s.addr, ca.Cert, nil)); !errors.Is(err, ErrUnknownCA) {
		t.Fatalf("Dial with --ca: %v, want ErrUnknownCA", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("known_clusters written: %v", err)
	}
}

func TestFingerprintTLSConfig(t *testing.T) {
	ca1 := newTestCA(t, "one")
	ca2 := newTestCA(t, "two")
	s := startEcho(t, "127.0.0.1:0", ca1.serverTLS(t, "n1"))
	fp := pki.Fingerprint(ca1.Cert.Raw)

	var colons []string
	for i := 0; i < 40; i += 2 {
		colons = append(colons, fp[i:i+2])
	}
	for _, good := range []string{fp, fp[:32], strings.ToUpper(fp[:40]), strings.Join(colons, ":")} {
		conn, err := dial(t, s.addr, FingerprintTLSConfig(good))
		if err != nil {
			t.Fatalf("fingerprint %q: %v", good, err)
		}
		if err := roundTrip(t.Context(), conn); err != nil {
			t.Fatal(err)
		}
	}
	other := pki.Fingerprint(ca2.Cert.Raw)
	if _, err := dial(t, s.addr, FingerprintTLSConfig(other)); !errors.Is(err, ErrUnknownCA) {
		t.Fatalf("other CA: %v, want ErrUnknownCA", err)
	}
	for _, bad := range []string{"", fp[:31], fp[:31] + "x", fp + "00"} {
		if _, err := dial(t, s.addr, FingerprintTLSConfig(bad)); err == nil {
			t.Fatalf("fingerprint %q accepted", bad)
		}
	}
}

func TestKnownClustersFile(t *testing.T) {
	fp1 := strings.Repeat("ab", 32)
	fp2 := strings.Repeat("cd", 32)
	path := filepath.Join(t.TempDir(), "known_clusters")
	content := "# comment\n\n  host-a:7000   " + strings.ToUpper(fp1) + "  # trailing\n[::1]:7000 " + fp2
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := OpenKnownClusters(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := k.Lookup("host-a:7000"); !ok || got != fp1 {
		t.Fatalf("host-a: %q %v", got, ok)
	}
	if got, ok := k.Lookup("[::1]:7000"); !ok || got != fp2 {
		t.Fatalf("[::1]: %q %v", got, ok)
	}
	if _, ok := k.Lookup("host-b:7000"); ok {
		t.Fatal("unknown address found")
	}
	if err := k.Add("host-a:7000", fp1); err != nil {
		t.Fatal(err)
	}
	if err := k.Add("host-a:7000", fp2); !errors.Is(err, ErrCAChanged) {
		t.Fatalf("Add changed: %v", err)
	}
	if err := k.Add("host-b:7000", fp2); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := content + "\nhost-b:7000 " + fp2 + "\n"; string(data) != want {
		t.Fatalf("file = %q, want %q", data, want)
	}
	for _, bad := range [][2]string{{"", fp1}, {"a b", fp1}, {"h:1", "abc"}, {"h:1", strings.Repeat("zz", 32)}} {
		if err := k.Add(bad[0], bad[1]); err == nil {
			t.Errorf("Add(%q, %q) accepted", bad[0], bad[1])
		}
	}

	if _, err := OpenKnownClusters(filepath.Join(t.TempDir(), "missing")); err != nil {
		t.Fatalf("missing file: %v", err)
	}
	for _, bad := range []string{"onlyaddr\n", "a " + fp1 + " extra\n", "a nothex\n"} {
		p := filepath.Join(t.TempDir(), "kc")
		if err := os.WriteFile(p, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenKnownClusters(p); err == nil || !strings.Contains(err.Error(), ":1:") {
			t.Errorf("%q: %v, want an error naming line 1", bad, err)
		}
	}
}

func TestKnownClustersConcurrentAdd(t *testing.T) {
	k, path := openKnown(t)
	const n = 32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			addr := fmt.Sprintf("10.0.0.%d:7000", i)
			if err := k.Add(addr, pki.Fingerprint([]byte(addr))); err != nil {
				t.Error(err)
			}
			k.Lookup(addr)
		})
	}
	wg.Wait()
	reopened, err := OpenKnownClusters(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		addr := fmt.Sprintf("10.0.0.%d:7000", i)
		if got, _ := reopened.Lookup(addr); got != pki.Fingerprint([]byte(addr)) {
			t.Errorf("%s: %q", addr, got)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestDefaultKnownClustersPath(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/tmp/xdg")
	t.Setenv("HOME", "/tmp/home")
	p, err := DefaultKnownClustersPath()
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := os.UserConfigDir()
	if want := filepath.Join(dir, "parley", "known_clusters"); p != want {
		t.Fatalf("path %q, want %q", p, want)
	}
}
