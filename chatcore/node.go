package chatcore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/lni/vfs"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/rafttcp"
	"github.com/parleychat/parley/placement"
)

// Raft timing. A tick is RTTMillisecond; elections start after 4–8 ticks
// (200–400 ms) without a leader, so a dead leader is replaced in well under
// a second on a LAN, and a leader heartbeats every tick. Every tick costs
// every replica some work even when its shard is idle (dragonboat steps
// every replica of the node on every tick), so the tick is as long as the
// election time allows: 50 ms. It was 20 ms with elections after 10–20
// ticks and heartbeats every 3; the same election time and a heartbeat
// every 50 ms instead of 60 took an idle dev node from 2.8–3.6% of a core
// to 1.9–3.0% (README, Performance). Idle room shards also quiesce, and
// are woken when their leader's node is lost (see quiesce.go).
const (
	// RTTMillisecond is dragonboat's tick, the assumed round trip on a LAN.
	RTTMillisecond = 50
	electionRTT    = 4
	heartbeatRTT   = 1
	// snapshotEntries bounds the Raft log: every so many entries a shard
	// snapshots (cheaply: on-disk state machines only record the index) and
	// compacts all but compactionOverhead of them.
	snapshotEntries    = 20000
	compactionOverhead = 5000
	// maxShards is the most room shards a cluster may have.
	maxShards = 1024
)

// Config configures a node.
type Config struct {
	// DataDir holds the node's identity, Raft log and state db.
	DataDir string
	// Name is the node's name in the registry (default: the host name).
	Name string
	// RaftAddr is the host:port other nodes dial for Raft. It must stay the
	// same across restarts.
	RaftAddr string
	// RaftListen is the address to listen on for Raft, default RaftAddr.
	RaftListen string
	// ClientAddr is the client (QUIC) address published in the registry.
	ClientAddr string
	// HTTPAddr is the HTTP address (web client) published in the registry,
	// "" if the node serves none.
	HTTPAddr string
	// HTTPSAddr is the HTTPS address (web client over TLS) published in
	// the registry, "" if the node serves none.
	HTTPSAddr string
	// Profile sizes memory use; used when the node is created.
	Profile Profile
	// Shards is the number of room shards of a new cluster, 0 for the
	// profile's default (Profile.DefaultShards); used when Start creates
	// the cluster.
	Shards int
	// Replicas is the number of voting replicas of each room shard of a
	// new cluster: odd, 1 to MaxReplication; 0 for
	// placement.DefaultReplication. Used when Start creates the cluster.
	Replicas int
	// DeadAfter is how long a node of a new cluster may be unreachable
	// before its replicas are re-created elsewhere; 0 for
	// DefaultDeadAfter. Used when Start creates the cluster; admins change
	// it later (SetDeadAfter).
	DeadAfter time.Duration
	// Logger receives the node's logs (default slog.Default()).
	Logger *slog.Logger
	// Observer hears about proposals, sends and deliveries as they
	// happen, for metrics (default: none).
	Observer Observer
	// FS is the file system the node keeps every file on: identity, TLS
	// material, Raft log and state db. It is for tests and experts; nil
	// means the OS's disk. Tests use vfs.NewStrictMem, which keeps only
	// what was fsynced, to cut a node's power (ResetToSyncedState) and
	// reopen it from what survived.
	FS vfs.FS
	// RaftTransport, if set, replaces the transport between nodes
	// (rafttcp: TCP with mutual TLS, on dragonboat's wire). It is for
	// tests, such as an in-process transport a test can cut at the instant
	// it cuts a node's power.
	RaftTransport config.TransportFactory
	// PasswordChecks bounds the argon2id hashes the node computes at once
	// (default DefaultPasswordChecks); logins beyond it wait their turn.
	PasswordChecks int
	// Argon is the argon2id profile ("small" or "default") of a new
	// cluster's password hashes; used when Start creates the cluster, then
	// kept in the registry's cluster settings.
	Argon string
	// Quotas limit a new cluster's rooms and members (zero fields: the
	// defaults); used when Start creates the cluster, then kept in the
	// registry's cluster settings.
	Quotas Quotas
}

// bootstrapParams is what a new cluster starts with (see newCluster).
type bootstrapParams struct {
	clusterID string
	// shards is the number of room shards, 0 for the profile's default.
	shards int
	// replicas and deadAfter are the cluster's replication and
	// dead-after, validated.
	replicas    int
	deadAfter   time.Duration
	caCertPEM   []byte
	caKeyPEM    []byte
	nodeCertPEM []byte
	nodeKeyPEM  []byte
	// tokenHash is the SHA-256 of the join token.
	tokenHash []byte
	secret    []byte
}

// joinParams is what an admitted node received from the cluster, and its
// own key.
type joinParams struct {
	nodeID      uint64
	clusterID   string
	caCertPEM   []byte
	nodeCertPEM []byte
	nodeKeyPEM  []byte
}

// Node is one Parley node: a dragonboat NodeHost with the registry and the
// room shards it hosts, one state db, and a hub for local subscribers.
type Node struct {
	cfg Config
	id  identity
	log *slog.Logger

	nh  *dragonboat.NodeHost
	db  *stateDB
	hub *hub

	regMu   sync.Mutex
	regWake chan struct{} // closed and replaced when the registry changes

	mu      sync.Mutex
	hosted  map[uint64]uint64 // shard → local replica id
	ring    *placement.Ring
	closing bool

	props proposers
	// fences holds proposals to shards whose leadership is moving.
	fences  fenceSet
	leaders *leaderWatch
	live    *liveness
	// reach is what the Raft transport says of the peers' addresses.
	reach *reachability
	// moves is what the host loop last saw of the shards this node leads.
	moves *moveState
	// load tells busy room shards from idle ones (shardload.go).
	load *shardLoad
	// regWatch is when the registry last had a leader, as seen here.
	regWatch registryWatch
	// regPeer asks other nodes what the registry says of this one.
	regPeer registryPeer
	// removed is closed once the registry says this node was removed.
	removed     chan struct{}
	removedOnce sync.Once
	obs         Observer
	subs        subscriptions
	// rooms are the rooms known to be in the registry (see ensureRoom).
	rooms knownRooms

	stop chan struct{}
	wg   sync.WaitGroup
	// cleanup removes what the node made outside its file system.
	cleanup func()

	// pwSlots bounds concurrent password hashes (see Login).
	pwSlots *passwordSlots
}

// bootstrap creates a new cluster with this node as its first member (see
// Start).
func bootstrap(ctx context.Context, cfg Config, p bootstrapParams) (*Node, error) {
	if p.shards <= 0 {
		p.shards = cfg.Profile.DefaultShards()
	}
	id := newIdentity(1, p.clusterID, cfg.Profile)
	id.Bootstrapped = true
	if err := writeIdentity(fsOrDisk(cfg.FS), cfg.DataDir, id, p.caCertPEM, p.nodeCertPEM, p.nodeKeyPEM); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	n, err := start(cfg, id)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	members := map[uint64]string{id.NodeID: cfg.RaftAddr}
	if err := n.startReplica(placement.RegistryShard, id.NodeID, members, false, false); err != nil {
		n.Close()
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	now := time.Now().UnixNano()
	init := registryCommand{
		Op: regOpInit, TS: now,
		Cluster: &ClusterInfo{
			ClusterID: p.clusterID, Shards: p.shards,
			CACertPEM: p.caCertPEM, CAKeyPEM: p.caKeyPEM,
			TokenHash: p.tokenHash, Secret: p.secret, Created: now, Argon: cfg.Argon, Quotas: cfg.Quotas,
			Replication: p.replicas, DeadAfter: p.deadAfter,
		},
		Node: &NodeRecord{ID: id.NodeID, Name: cfg.Name, RaftAddr: cfg.RaftAddr, ClientAddr: cfg.ClientAddr, HTTPAddr: cfg.HTTPAddr, HTTPSAddr: cfg.HTTPSAddr, Joined: now},
	}
	if _, err := n.proposeRegistry(ctx, init); err != nil {
		n.Close()
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	// Every room shard starts here alone as replica 1 (the registry's init
	// records that); the placement loop spreads them as nodes join.
	first := map[uint64]string{1: cfg.RaftAddr}
	for _, s := range placement.RoomShards(p.shards) {
		if err := n.startReplica(s, 1, first, false, false); err != nil {
			n.Close()
			return nil, fmt.Errorf("bootstrap: %w", err)
		}
	}
	n.run()
	return n, nil
}

// join starts a node that the cluster has admitted (see Join).
func join(ctx context.Context, cfg Config, p joinParams) (*Node, error) {
	id := newIdentity(p.nodeID, p.clusterID, cfg.Profile)
	if err := writeIdentity(fsOrDisk(cfg.FS), cfg.DataDir, id, p.caCertPEM, p.nodeCertPEM, p.nodeKeyPEM); err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	n, err := start(cfg, id)
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	if err := n.startReplica(placement.RegistryShard, id.NodeID, nil, true, true); err != nil {
		n.Close()
		return nil, fmt.Errorf("join: %w", err)
	}
	n.run()
	return n, nil
}

// Open restarts the node in its data dir, and fails with an error wrapping
// parley.ErrNotFound if the dir holds none (Start creates one instead).
func Open(ctx context.Context, cfg Config) (*Node, error) {
	id, err := loadIdentity(fsOrDisk(cfg.FS), cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if cfg.Profile, err = ParseProfile(id.Profile); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if err := validateConfig(&cfg); err != nil {
		return nil, err
	}
	if err := prepareDataDir(cfg, true); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	n, err := start(cfg, id)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if err := n.restartReplicas(); err != nil {
		n.Close()
		return nil, fmt.Errorf("open: %w", err)
	}
	if rec, found, err := n.nodeRecord(n.id.NodeID); err == nil && found && rec.State == NodeRemoved {
		n.Close()
		return nil, fmt.Errorf("open: %w", ErrRemoved)
	}
	n.run()
	return n, nil
}

func validateConfig(cfg *Config) error {
	if cfg.DataDir == "" || cfg.RaftAddr == "" {
		return fmt.Errorf("config: data dir and raft address are required: %w", parley.ErrInvalid)
	}
	if cfg.Name == "" {
		cfg.Name = DefaultNodeName()
	}
	if err := parley.ValidateNodeName(cfg.Name); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if cfg.Profile.Name == "" {
		cfg.Profile = ProfileDefault
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if _, err := ParseArgonProfile(cfg.Argon); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// DefaultNodeName is a node's name when none is given: the host name, made
// valid.
func DefaultNodeName() string {
	h, _ := os.Hostname()
	return sanitizeName(h)
}

// sanitizeName turns a host name into a valid node name.
func sanitizeName(h string) string {
	out := make([]byte, 0, len(h))
	for i := 0; i < len(h) && len(out) < parley.MaxNodeName; i++ {
		c := h[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (len(out) > 0 && (c == '-' || c == '.' || c == '_')) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return "node"
	}
	return string(out)
}

func start(cfg Config, id identity) (*Node, error) {
	installDragonboatLogger(cfg.Logger)
	cfg.Profile = cfg.Profile.withRaftLayout(id.raftLayout())
	fsys := fsOrDisk(cfg.FS)
	db, err := openStateDB(fsys, DataLayout(cfg.DataDir).StateDB(), cfg.Profile)
	if err != nil {
		return nil, err
	}
	if db.formatWas != 0 && db.formatWas != stateFormat {
		cfg.Logger.Info("state db migrated", "from_format", db.formatWas, "to_format", stateFormat)
	}
	files, cleanupTLS, err := raftTLS(fsys, cfg.DataDir)
	if err != nil {
		db.Close()
		return nil, err
	}
	raftDir := DataLayout(cfg.DataDir).Raft()
	leaders := newLeaderWatch(cfg.Logger.With("node", id.NodeID))
	reach := newReachability()
	transport := cfg.RaftTransport
	if transport == nil {
		transport = rafttcp.Factory{Logger: cfg.Logger.With("node", id.NodeID)}
	}
	nhc := config.NodeHostConfig{
		DeploymentID:        deploymentID(id.ClusterID),
		NodeHostDir:         raftDir,
		WALDir:              raftDir,
		RTTMillisecond:      RTTMillisecond,
		RaftAddress:         cfg.RaftAddr,
		ListenAddress:       cfg.RaftListen,
		MutualTLS:           true,
		CAFile:              files.CA,
		CertFile:            files.Cert,
		KeyFile:             files.Key,
		RaftEventListener:   leaders,
		SystemEventListener: reach,
		Expert: config.ExpertConfig{
			LogDB:            cfg.Profile.LogDBConfig(),
			Engine:           cfg.Profile.EngineConfig(),
			FS:               fsys,
			TransportFactory: transport,
		},
	}
	nh, err := dragonboat.NewNodeHost(nhc)
	if err != nil {
		cleanupTLS()
		db.Close()
		return nil, fmt.Errorf("nodehost: %w", err)
	}
	// The stores have just created their files with modes of their own.
	if onDisk(cfg.FS) {
		if err := secureDataDir(cfg.DataDir, cfg.Logger, false); err != nil {
			nh.Close()
			cleanupTLS()
			db.Close()
			return nil, err
		}
	}
	n := &Node{
		cfg: cfg, id: id,
		log:     cfg.Logger.With("node", id.NodeID),
		nh:      nh,
		db:      db,
		hub:     newHub(db),
		regWake: make(chan struct{}),
		hosted:  make(map[uint64]uint64),
		leaders: leaders,
		live:    newLiveness(),
		reach:   reach,
		moves:   newMoveState(),
		load:    newShardLoad(),
		removed: make(chan struct{}),
		obs:     cfg.Observer,
		stop:    make(chan struct{}),
		cleanup: cleanupTLS,
		pwSlots: newPasswordSlots(cfg.PasswordChecks, cfg.Profile.returnHashMemory),
	}
	return n, nil
}

func deploymentID(clusterID string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(clusterID))
	return h.Sum64() | 1
}

// ShardConfig is the Raft configuration Parley gives every shard: election
// and heartbeat timing, pre-vote and check-quorum, quiesce for room
// shards, and log compaction.
func ShardConfig(shard, replica uint64, nonVoting bool) config.Config {
	return config.Config{
		ReplicaID:          replica,
		ShardID:            shard,
		ElectionRTT:        electionRTT,
		HeartbeatRTT:       heartbeatRTT,
		CheckQuorum:        true,
		PreVote:            true,
		SnapshotEntries:    snapshotEntries,
		CompactionOverhead: compactionOverhead,
		IsNonVoting:        nonVoting,
		// Room shards stop ticking when idle; whoever quiesces them
		// must wake them when a leader dies (see wakeLoop).
		Quiesce: shard != placement.RegistryShard,
	}
}

// startReplica starts the local replica of shard as replica id replica:
// with members for a new shard, with join for a replica added to an
// existing one, or with neither to restart one.
func (n *Node) startReplica(shard, replica uint64, members map[uint64]string, join, nonVoting bool) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.hosted[shard]; ok || n.closing {
		return nil
	}
	create := func(shardID, replicaID uint64) sm.IOnDiskStateMachine {
		var app shardApplier
		if shardID == placement.RegistryShard {
			app = &registryShard{changed: n.registryChanged}
		} else {
			app = &roomShard{roomApplier: roomApplier{shard: shardID, ids: newDedupIndex()}, hub: n.hub, fenced: n.raiseFence, applied: n.load.counter(shardID)}
		}
		return &diskSM{shard: shardID, db: n.db, app: app}
	}
	if members != nil || join {
		// Recorded first: a crash right after the start must restart
		// the same replica id.
		if err := n.setJoinRole(shard, replica, nonVoting); err != nil {
			return err
		}
	}
	if err := n.nh.StartOnDiskReplica(members, join, create, ShardConfig(shard, replica, nonVoting)); err != nil {
		if errors.Is(err, dragonboat.ErrShardAlreadyExist) {
			n.hosted[shard] = replica
			return nil
		}
		return fmt.Errorf("shard %d: start: %w", shard, err)
	}
	n.hosted[shard] = replica
	return nil
}

// restartReplicas starts every replica this node has on disk, in the role
// it joined with.
func (n *Node) restartReplicas() error {
	if err := n.restartRegistry(); err != nil {
		return err
	}
	info, found, err := n.clusterInfo()
	if err != nil || !found {
		return err
	}
	for _, s := range placement.RoomShards(info.Shards) {
		replica, nonVoting, ok := n.joinRole(s, n.id.NodeID)
		if !ok || !n.nh.HasNodeInfo(s, replica) {
			continue
		}
		if err := n.startReplica(s, replica, nil, false, nonVoting); err != nil {
			return err
		}
	}
	return nil
}

// isHosted reports whether a replica of shard runs here.
func (n *Node) isHosted(shard uint64) bool {
	_, ok := n.localReplica(shard)
	return ok
}

// localReplica returns the id of the local replica of shard, if running.
func (n *Node) localReplica(shard uint64) (uint64, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	r, ok := n.hosted[shard]
	return r, ok
}

// run starts the node's background loops.
func (n *Node) run() {
	n.wg.Add(3)
	go func() {
		defer n.wg.Done()
		n.wakeLoop()
	}()
	go func() {
		defer n.wg.Done()
		n.hostLoop()
	}()
	go func() {
		defer n.wg.Done()
		n.heartbeatLoop()
	}()
}

// ID returns the node's id.
func (n *Node) ID() uint64 { return n.id.NodeID }

// ClusterID returns the id of the node's cluster.
func (n *Node) ClusterID() string { return n.id.ClusterID }

// Close stops the node: its loops, its replicas and its state db.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closing {
		n.mu.Unlock()
		return nil
	}
	n.closing = true
	n.mu.Unlock()
	close(n.stop)
	n.leaders.close()
	n.wg.Wait()
	n.nh.Close()
	n.cleanup()
	err := n.db.Close()
	// Leave nothing the stores created while running open to others.
	if !onDisk(n.cfg.FS) {
		return err
	}
	if serr := secureDataDir(n.cfg.DataDir, n.log, false); serr != nil {
		n.log.Warn("close", "err", serr)
	}
	return err
}

// NodeHost exposes the dragonboat NodeHost for tools and tests.
func (n *Node) NodeHost() *dragonboat.NodeHost { return n.nh }
