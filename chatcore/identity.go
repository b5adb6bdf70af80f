package chatcore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/parleychat/parley"
)

// identity is what a node must remember across restarts, in
// <data>/identity.json; its TLS material is in <data>/tls/.
type identity struct {
	NodeID    uint64 `json:"node_id"`
	ClusterID string `json:"cluster_id"`
	Profile   string `json:"profile"`
	// Bootstrapped is true for the node that created the cluster.
	Bootstrapped bool `json:"bootstrapped,omitempty"`
}

// TLSFiles names a node's PEM files for mutual TLS between nodes.
type TLSFiles struct {
	CA, Cert, Key string
}

func tlsFiles(dataDir string) TLSFiles {
	dir := filepath.Join(dataDir, "tls")
	return TLSFiles{
		CA:   filepath.Join(dir, "ca.pem"),
		Cert: filepath.Join(dir, "node.pem"),
		Key:  filepath.Join(dir, "node-key.pem"),
	}
}

func identityPath(dataDir string) string { return filepath.Join(dataDir, "identity.json") }

// HasIdentity reports whether dataDir holds a node (created by Start or
// Join), which Open can restart.
func HasIdentity(dataDir string) bool {
	_, err := os.Stat(identityPath(dataDir))
	return err == nil
}

// NodeTLS returns the paths of the node's CA, certificate and key PEM files.
func NodeTLS(dataDir string) TLSFiles { return tlsFiles(dataDir) }

func loadIdentity(dataDir string) (identity, error) {
	var id identity
	b, err := os.ReadFile(identityPath(dataDir))
	if errors.Is(err, fs.ErrNotExist) {
		return id, fmt.Errorf("identity: %s holds no node: %w", dataDir, parley.ErrNotFound)
	}
	if err != nil {
		return id, fmt.Errorf("identity: %w", err)
	}
	if err := json.Unmarshal(b, &id); err != nil {
		return id, fmt.Errorf("identity: %s: %w", identityPath(dataDir), err)
	}
	if id.NodeID == 0 || id.ClusterID == "" {
		return id, fmt.Errorf("identity: %s: incomplete", identityPath(dataDir))
	}
	return id, nil
}

// writeIdentity stores the TLS material and then the identity file; the
// identity file is written last and atomically, so a crash midway leaves a
// directory that HasIdentity still reports empty.
func writeIdentity(dataDir string, id identity, caPEM, certPEM, keyPEM []byte) error {
	if HasIdentity(dataDir) {
		return fmt.Errorf("identity: %s: %w", dataDir, ErrExists)
	}
	files := tlsFiles(dataDir)
	if err := os.MkdirAll(filepath.Dir(files.CA), 0o700); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	for path, data := range map[string][]byte{files.CA: caPEM, files.Cert: certPEM, files.Key: keyPEM} {
		if err := writeFileAtomic(path, data, 0o600); err != nil {
			return fmt.Errorf("identity: %w", err)
		}
	}
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if err := writeFileAtomic(identityPath(dataDir), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file, fsyncs it and renames it
// over path.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
