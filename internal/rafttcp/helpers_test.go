package rafttcp

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lni/dragonboat/v4/config"

	"github.com/parleychat/parley/pki"
)

// tlsFiles writes a fresh cluster CA and n node certificates into dir and
// returns each node's CA, certificate and key files.
func tlsFiles(t *testing.T, dir string, n int) [][3]string {
	t.Helper()
	caPEM, caKey, err := pki.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.LoadCA(caPEM, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	var out [][3]string
	for i := range n {
		keyPEM, pub, err := pki.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		certPEM, err := ca.IssueNodeCert(pub, "n", nil)
		if err != nil {
			t.Fatal(err)
		}
		f := [3]string{caFile, filepath.Join(dir, "node"+string(rune('1'+i))+".crt"), filepath.Join(dir, "node"+string(rune('1'+i))+".key")}
		if err := os.WriteFile(f[1], certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f[2], keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// withTLS returns cfg with mutual TLS from files.
func withTLS(cfg config.NodeHostConfig, files [3]string) config.NodeHostConfig {
	cfg.MutualTLS = true
	cfg.CAFile, cfg.CertFile, cfg.KeyFile = files[0], files[1], files[2]
	return cfg
}
