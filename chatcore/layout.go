package chatcore

import "path/filepath"

// Layout names every file and directory of a node's data directory (the
// daemon's --data). It is the one place these names are written; chatcore,
// the daemon, parleyd and the test harnesses all go through it.
//
//	<dir>/identity.json   node id, cluster id, profile, Raft layout (written last at creation)
//	<dir>/tls/ca.pem      the cluster CA certificate
//	<dir>/tls/node.pem    this node's certificate
//	<dir>/tls/node-key.pem this node's private key
//	<dir>/state/          the state db (pebble), shared by every shard
//	<dir>/raft/           dragonboat's NodeHost dir and LogDB (the Raft log)
//	<dir>/join-token      the join token, on the node that created the cluster
//	<dir>/parleyd.json    parleyd's saved addresses and name
//	<dir>/analytics/      analytics tasks' spills and outputs (emptied at start)
//
// Every directory in it is kept 0700 and every file 0600 (see
// secureDataDir).
type Layout struct {
	// Dir is the data directory.
	Dir string
}

// DataLayout returns the layout of the data directory dir.
func DataLayout(dir string) Layout { return Layout{Dir: dir} }

// Identity is the node's identity file.
func (l Layout) Identity() string { return filepath.Join(l.Dir, "identity.json") }

// TLSDir is the directory of the node's TLS material.
func (l Layout) TLSDir() string { return filepath.Join(l.Dir, "tls") }

// TLS returns the paths of the node's CA, certificate and key PEM files.
func (l Layout) TLS() TLSFiles {
	dir := l.TLSDir()
	return TLSFiles{
		CA:   filepath.Join(dir, "ca.pem"),
		Cert: filepath.Join(dir, "node.pem"),
		Key:  filepath.Join(dir, "node-key.pem"),
	}
}

// StateDB is the directory of the node's state database.
func (l Layout) StateDB() string { return filepath.Join(l.Dir, "state") }

// Raft is dragonboat's NodeHost directory, which holds its LogDB.
func (l Layout) Raft() string { return filepath.Join(l.Dir, "raft") }

// JoinToken is where the node that creates a cluster writes its join token.
func (l Layout) JoinToken() string { return filepath.Join(l.Dir, "join-token") }

// Analytics is the scratch directory of the node's analytics tasks (see
// package mapreduce): spilled runs and map and reduce outputs, emptied
// whenever the node starts.
func (l Layout) Analytics() string { return filepath.Join(l.Dir, "analytics") }

// Settings is where parleyd saves the flags a node keeps across restarts.
func (l Layout) Settings() string { return filepath.Join(l.Dir, "parleyd.json") }
