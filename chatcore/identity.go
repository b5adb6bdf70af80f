package chatcore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/atomicfile"
)

// identity is what a node must remember across restarts, in
// Layout.Identity; its TLS material is in Layout.TLSDir.
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

// HasIdentity reports whether dataDir holds a node (created by Start or
// Join), which Open can restart.
func HasIdentity(dataDir string) bool {
	_, err := os.Stat(DataLayout(dataDir).Identity())
	return err == nil
}

// NodeTLS returns the paths of the node's CA, certificate and key PEM files.
func NodeTLS(dataDir string) TLSFiles { return DataLayout(dataDir).TLS() }

func loadIdentity(dataDir string) (identity, error) {
	var id identity
	b, err := os.ReadFile(DataLayout(dataDir).Identity())
	if errors.Is(err, fs.ErrNotExist) {
		return id, fmt.Errorf("identity: %s holds no node: %w", dataDir, parley.ErrNotFound)
	}
	if err != nil {
		return id, fmt.Errorf("identity: %w", err)
	}
	if err := json.Unmarshal(b, &id); err != nil {
		return id, fmt.Errorf("identity: %s: %w", DataLayout(dataDir).Identity(), err)
	}
	if id.NodeID == 0 || id.ClusterID == "" {
		return id, fmt.Errorf("identity: %s: incomplete", DataLayout(dataDir).Identity())
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
	files := DataLayout(dataDir).TLS()
	if err := os.MkdirAll(DataLayout(dataDir).TLSDir(), 0o700); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	for path, data := range map[string][]byte{files.CA: caPEM, files.Cert: certPEM, files.Key: keyPEM} {
		if err := atomicfile.Write(path, data, 0o600); err != nil {
			return fmt.Errorf("identity: %w", err)
		}
	}
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if err := atomicfile.Write(DataLayout(dataDir).Identity(), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	return nil
}
