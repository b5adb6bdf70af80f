package chatcore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/lni/vfs"
	"github.com/parleychat/parley"
)

// identity is what a node must remember across restarts, in
// Layout.Identity; its TLS material is in Layout.TLSDir.
type identity struct {
	NodeID    uint64 `json:"node_id"`
	ClusterID string `json:"cluster_id"`
	Profile   string `json:"profile"`
	// Bootstrapped is true for the node that created the cluster.
	Bootstrapped bool `json:"bootstrapped,omitempty"`
	// Raft is the node's Raft layout; nil in an identity written before
	// identities recorded it (see identity.raftLayout).
	Raft *raftLayout `json:"raft,omitempty"`
}

// newIdentity is the identity of a node created with profile p.
func newIdentity(nodeID uint64, clusterID string, p Profile) identity {
	l := p.raftLayout()
	return identity{NodeID: nodeID, ClusterID: clusterID, Profile: p.Name, Raft: &l}
}

// raftLayout is the Raft layout the node was created with.
func (id identity) raftLayout() raftLayout {
	if id.Raft == nil {
		return legacyRaftLayout(id.Profile)
	}
	return *id.Raft
}

// TLSFiles names a node's PEM files for mutual TLS between nodes.
type TLSFiles struct {
	CA, Cert, Key string
}

// HasIdentity reports whether dataDir holds a node (created by Start or
// Join), which Open can restart.
func HasIdentity(dataDir string) bool { return hasIdentity(vfs.Default, dataDir) }

// hasIdentity is HasIdentity on file system f.
func hasIdentity(f vfs.FS, dataDir string) bool {
	return exists(fsOrDisk(f), DataLayout(dataDir).Identity())
}

// NodeTLS returns the paths of the node's CA, certificate and key PEM files.
func NodeTLS(dataDir string) TLSFiles { return DataLayout(dataDir).TLS() }

func loadIdentity(f vfs.FS, dataDir string) (identity, error) {
	var id identity
	b, err := readFile(fsOrDisk(f), DataLayout(dataDir).Identity())
	if errors.Is(err, fs.ErrNotExist) {
		return id, fmt.Errorf("identity: %s holds no node: %w", dataDir, parley.ErrNotFound)
	}
	if err != nil {
		return id, fmt.Errorf("identity: %w", err)
	}
	if err := json.Unmarshal(b, &id); err != nil {
		return id, fmt.Errorf("identity: %s: %w", DataLayout(dataDir).Identity(), err)
	}
	if id.NodeID == 0 || id.ClusterID == "" || id.Raft != nil && (id.Raft.LogDBShards == 0 || id.Raft.EngineShards == 0) {
		return id, fmt.Errorf("identity: %s: incomplete", DataLayout(dataDir).Identity())
	}
	return id, nil
}

// writeIdentity stores the TLS material and then the identity file; the
// identity file is written last and atomically, so a crash midway leaves a
// directory that HasIdentity still reports empty.
func writeIdentity(f vfs.FS, dataDir string, id identity, caPEM, certPEM, keyPEM []byte) error {
	f = fsOrDisk(f)
	if hasIdentity(f, dataDir) {
		return fmt.Errorf("identity: %s: %w", dataDir, ErrExists)
	}
	files := DataLayout(dataDir).TLS()
	for path, data := range map[string][]byte{files.CA: caPEM, files.Cert: certPEM, files.Key: keyPEM} {
		if err := writeFileOn(f, path, data, dataFileMode); err != nil {
			return fmt.Errorf("identity: %w", err)
		}
	}
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if err := writeFileOn(f, DataLayout(dataDir).Identity(), append(b, '\n'), dataFileMode); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	return nil
}
