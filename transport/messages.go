package transport

import (
	"slices"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/parleychat/parley"
)

// ProtocolVersion is the version a client announces in Hello.
const ProtocolVersion = 1

// Operations a client may request on the control stream.
const (
	OpSend      = "send"
	OpHistory   = "history"
	OpSubscribe = "subscribe"
	OpStatus    = "status"
	// OpAdmin changes the cluster's membership or settings (AdminRequest,
	// AdminResponse). Only an admin may; anyone else gets CodeForbidden.
	OpAdmin = "admin"
	// OpForward is node to node: serve the request Op with Body for User,
	// on a node that hosts the room (ForwardedRequest; the response is Op's).
	// A node that holds no replica of a room's shard serves the room this
	// way. Only a session whose TLS client certificate the cluster CA
	// signed may ask.
	OpForward = "forward"
	OpAdmit   = "admit"
	// OpJoin makes the user a member of a room (JoinRoomRequest; the
	// response has no body).
	OpJoin = "join"
	// OpLeave ends the user's membership of a room (LeaveRoomRequest; the
	// response has no body).
	OpLeave = "leave"
	// OpRooms lists rooms (RoomsRequest, RoomsResponse).
	OpRooms = "rooms"
	// OpWho lists a room's members and who of them is online (WhoRequest,
	// WhoResponse).
	OpWho = "who"
	// OpPresence is node to node: the users with a live session on the
	// serving node (PresenceRequest, PresenceResponse). Only a session
	// whose TLS client certificate the cluster CA signed may ask.
	OpPresence = "presence"
	// OpPing asks the node whether it is still there (PingRequest; the
	// response has no body). The session answers it at once, without Raft
	// or the disk, and outside the per-connection rate limit, so that a
	// busy or rate-limited connection is never taken for a dead one. Any
	// welcomed session may ping, an anonymous one too: the answer tells
	// nothing but that the node is alive. A client that has heard nothing
	// on its connection for a while pings, and gives the node up when even
	// the ping goes unanswered (see client.Options.ProbeInterval).
	OpPing = "ping"
	// OpRead moves the user's read marker in a room forward (ReadRequest,
	// ReadResponse). Markers are kept by the cluster, so unread counts
	// (RoomInfo.Unread) agree on every client of the user.
	OpRead = "read"
	// OpTyping says the user is typing in a room (TypingRequest; the
	// response has no body). Typing is ephemeral, like presence: kept in
	// the memory of the nodes for TypingTTL, never in a room's log, and
	// shown in WhoResponse.Typing.
	OpTyping = "typing"
)

// TypingTTL is how long a typing notice lasts; a client typing on sends
// one again before it ends.
const TypingTTL = 4 * time.Second

// TypingRequest says the user is typing in Room.
type TypingRequest struct {
	Room string `cbor:"1,keyasint"`
}

// Typing is one user typing in one room.
type Typing struct {
	Room string `cbor:"1,keyasint"`
	User string `cbor:"2,keyasint"`
}

// Hello is the first frame a client writes on the control stream. A user
// session carries User with Password or a Token from an earlier Welcome; a
// node that joins the cluster sends an anonymous Hello and then only OpAdmit.
type Hello struct {
	Version  int    `cbor:"1,keyasint"`
	User     string `cbor:"2,keyasint,omitempty"`
	Password string `cbor:"3,keyasint,omitempty"`
	Token    string `cbor:"4,keyasint,omitempty"`
	// ApplyVersion is set by a node (joining, or asking a peer): the
	// version of the rules its state machines apply entries by
	// (chatcore.ApplyRulesVersion). A node refuses a peer whose version
	// differs from its own.
	ApplyVersion int `cbor:"5,keyasint,omitempty"`
	// Invite is the invite code a new account signs up with while the
	// cluster's sign-up policy is "invite"; ignored for an existing one.
	Invite string `cbor:"6,keyasint,omitempty"`
}

// Welcome answers Hello. It tells the client every node's client address so
// it knows where else to go, and gives it a token for later sessions.
type Welcome struct {
	// Error is set when the hello was refused; the server then closes.
	Error     *Error     `cbor:"1,keyasint,omitempty"`
	ClusterID string     `cbor:"2,keyasint,omitempty"`
	NodeID    uint64     `cbor:"3,keyasint,omitempty"`
	Token     string     `cbor:"4,keyasint,omitempty"`
	Nodes     []NodeInfo `cbor:"5,keyasint,omitempty"`
	// User is the user the session is logged in as ("" if anonymous).
	User string `cbor:"6,keyasint,omitempty"`
	// ApplyVersion is the serving node's apply rules version, so that a
	// dialing node can refuse it too.
	ApplyVersion int `cbor:"7,keyasint,omitempty"`
}

// NodeInfo describes one node of the cluster.
type NodeInfo struct {
	ID   uint64 `cbor:"1,keyasint"`
	Name string `cbor:"2,keyasint"`
	// Addr is the node's client (QUIC) address.
	Addr string `cbor:"3,keyasint"`
	// Up, State, Voters and Leaders are meaningful only in a status reply.
	Up bool `cbor:"4,keyasint,omitempty"`
	// HTTP is the node's HTTP address (web client, WebSocket), "" when
	// the node serves no HTTP or is of an older version.
	HTTP string `cbor:"5,keyasint,omitempty"`
	// HTTPS is the node's HTTPS address (parleyd --https), "" if none.
	HTTPS string `cbor:"6,keyasint,omitempty"`
	// State is "" for a full member, "draining" while an admin removes it,
	// "dead" once silent past the cluster's dead-after.
	State string `cbor:"7,keyasint,omitempty"`
	// Voters and Leaders count the room shards it votes in and leads.
	Voters  int `cbor:"8,keyasint,omitempty"`
	Leaders int `cbor:"9,keyasint,omitempty"`
}

// Request is a control-stream request. ID is chosen by the client and echoed
// in the Response; Body is the operation's request type.
type Request struct {
	ID   uint64          `cbor:"1,keyasint"`
	Op   string          `cbor:"2,keyasint"`
	Body cbor.RawMessage `cbor:"3,keyasint,omitempty"`
}

// Response answers the Request with the same ID: either Error or Body.
type Response struct {
	ID    uint64          `cbor:"1,keyasint"`
	Error *Error          `cbor:"2,keyasint,omitempty"`
	Body  cbor.RawMessage `cbor:"3,keyasint,omitempty"`
}

// SendRequest sends one message into a room. ID is made by the client; a
// retried send with the same ID returns the original seq.
type SendRequest struct {
	Room string       `cbor:"1,keyasint"`
	ID   parley.MsgID `cbor:"2,keyasint"`
	Text string       `cbor:"3,keyasint"`
}

// SendResponse reports where a sent message was committed.
type SendResponse struct {
	Room string       `cbor:"1,keyasint"`
	Seq  uint64       `cbor:"2,keyasint"`
	ID   parley.MsgID `cbor:"3,keyasint"`
	// TS is the message's commit-time stamp, Unix nanoseconds.
	TS int64 `cbor:"4,keyasint"`
	// Duplicate is true when this ID had already been committed.
	Duplicate bool `cbor:"5,keyasint,omitempty"`
}

// HistoryRequest reads a room's history. With Last > 0 it returns the last
// Last messages; otherwise up to Limit messages from seq From (1 if zero).
// MinSeq asks the node to wait until its replica has applied that seq
// (read-your-writes).
type HistoryRequest struct {
	Room   string `cbor:"1,keyasint"`
	From   uint64 `cbor:"2,keyasint,omitempty"`
	Limit  int    `cbor:"3,keyasint,omitempty"`
	Last   int    `cbor:"4,keyasint,omitempty"`
	MinSeq uint64 `cbor:"5,keyasint,omitempty"`
}

// HistoryResponse holds messages in seq order, and the room's last seq.
type HistoryResponse struct {
	Messages []parley.Message `cbor:"1,keyasint"`
	LastSeq  uint64           `cbor:"2,keyasint"`
}

// SubscribeRequest asks for a room's messages from seq From on (0 means from
// now: only messages after the room's current last seq). The server opens a
// unidirectional stream that starts with SubscribeHeader{Sub} and then
// carries Event frames.
type SubscribeRequest struct {
	Room string `cbor:"1,keyasint"`
	From uint64 `cbor:"2,keyasint,omitempty"`
	// Sub is the client's id for this subscription, echoed in the header.
	Sub uint64 `cbor:"3,keyasint"`
}

// SubscribeResponse confirms a subscription and tells the first seq it will
// deliver.
type SubscribeResponse struct {
	From uint64 `cbor:"1,keyasint"`
}

// SubscribeHeader is the first frame on a subscription stream.
type SubscribeHeader struct {
	Sub uint64 `cbor:"1,keyasint"`
}

// Event is one frame on a subscription stream: a message, or the error that
// ends the subscription.
type Event struct {
	Msg   *parley.Message `cbor:"1,keyasint,omitempty"`
	Error *Error          `cbor:"2,keyasint,omitempty"`
}

// StatusRequest asks for the cluster's state. It has no fields.
type StatusRequest struct{}

// StatusResponse describes nodes and shards as the serving node sees them.
type StatusResponse struct {
	Nodes  []NodeInfo    `cbor:"1,keyasint"`
	Shards []ShardStatus `cbor:"2,keyasint"`
}

// ShardStatus is one Raft group: its leader, term and voting replicas.
type ShardStatus struct {
	ID       uint64   `cbor:"1,keyasint"`
	Leader   uint64   `cbor:"2,keyasint"`
	Term     uint64   `cbor:"3,keyasint"`
	Replicas []uint64 `cbor:"4,keyasint"`
	// NonVoting lists non-voting replicas.
	NonVoting []uint64 `cbor:"5,keyasint,omitempty"`
	// Wanted lists the voters the placement wants; it differs from
	// Replicas while a move is in progress.
	Wanted []uint64 `cbor:"6,keyasint,omitempty"`
}

// Admin actions (AdminRequest.Action) and their arguments.
const (
	// AdminRemoveNode drains a node, then removes it: Args is its id or
	// name.
	AdminRemoveNode = "remove-node"
	// AdminGrant makes a user admin: Args is the user.
	AdminGrant = "grant"
	// AdminSet changes a cluster setting: Args is the setting's name and
	// value ("dead-after", a Go duration).
	AdminSet = "set"
)

// AdminRequest asks for one admin action.
type AdminRequest struct {
	Action string   `cbor:"1,keyasint"`
	Args   []string `cbor:"2,keyasint,omitempty"`
}

// ForwardedRequest is a room request a node forwards for one of its users
// (OpForward).
type ForwardedRequest struct {
	User string          `cbor:"1,keyasint"`
	Op   string          `cbor:"2,keyasint"`
	Body cbor.RawMessage `cbor:"3,keyasint,omitempty"`
}

// AdminResponse says what the action did, in a sentence.
type AdminResponse struct {
	Message string `cbor:"1,keyasint"`
	// Secret is what the action made and shows only once: an invite code,
	// a join token or a password ("" for other actions).
	Secret string `cbor:"2,keyasint,omitempty"`
	// Tokens lists the join tokens (AdminToken "list").
	Tokens []JoinTokenInfo `cbor:"3,keyasint,omitempty"`
}

// AdmitRequest asks an existing node to admit a new node. Token is the
// cluster's join token; PublicKey is the new node's PKIX DER public key.
type AdmitRequest struct {
	Token      string `cbor:"1,keyasint"`
	Name       string `cbor:"2,keyasint"`
	RaftAddr   string `cbor:"3,keyasint"`
	ClientAddr string `cbor:"4,keyasint"`
	PublicKey  []byte `cbor:"5,keyasint"`
	// HTTPAddr is the new node's advertised HTTP address, if it serves one.
	HTTPAddr string `cbor:"6,keyasint,omitempty"`
	// HTTPSAddr is the new node's advertised HTTPS address, if any.
	HTTPSAddr string `cbor:"7,keyasint,omitempty"`
	// ApplyVersion is the joining node's apply rules version; a cluster
	// whose rules differ refuses to admit it.
	ApplyVersion int `cbor:"8,keyasint,omitempty"`
}

// AdmitResponse admits a node: its id, its certificate signed by the cluster
// CA, and the CA certificate (both PEM).
type AdmitResponse struct {
	NodeID    uint64 `cbor:"1,keyasint"`
	ClusterID string `cbor:"2,keyasint"`
	CertPEM   []byte `cbor:"3,keyasint"`
	CAPEM     []byte `cbor:"4,keyasint"`
}

// JoinRoomRequest makes the user a member of Room (created if new) and
// appends the notice "<user> joined" to it. Joining a room one is a member
// of changes nothing, so a retried join is harmless. Only its two
// participants may join a direct-message room.
type JoinRoomRequest struct {
	Room string `cbor:"1,keyasint"`
}

// LeaveRoomRequest ends the user's membership of Room and appends the
// notice "<user> left" to it. Leaving a room one is not a member of changes
// nothing.
type LeaveRoomRequest struct {
	Room string `cbor:"1,keyasint"`
}

// MaxPage is the most entries one page of a list reply carries, and the
// page size when a request asks for none. A page stays far below the
// decoder's array limit (parley.MaxArrayElements) and the frame limit.
const MaxPage = 1000

// RoomsRequest asks for one page of the rooms the user may see: those
// named after After ("" for the first page), at most Limit of them (0 or
// more than MaxPage means MaxPage).
type RoomsRequest struct {
	After string `cbor:"1,keyasint,omitempty"`
	Limit int    `cbor:"2,keyasint,omitempty"`
}

// RoomsResponse lists, in name order, a page of the public rooms of the
// cluster's directory and the direct-message rooms the user takes part in.
// Next is the After of the next page, "" after the last page. (A client
// that does not page sees the first page.)
type RoomsResponse struct {
	Rooms []RoomInfo `cbor:"1,keyasint"`
	Next  string     `cbor:"2,keyasint,omitempty"`
}

// RoomInfo describes one room as the serving node knows it (possibly a
// little stale).
type RoomInfo struct {
	Name    string `cbor:"1,keyasint"`
	Members int    `cbor:"2,keyasint"`
	LastSeq uint64 `cbor:"3,keyasint"`
	// Joined reports whether the asking user is a member.
	Joined bool `cbor:"4,keyasint,omitempty"`
	// DM marks a direct-message room (see parley.DMRoom).
	DM bool `cbor:"5,keyasint,omitempty"`
	// Unread counts the messages after the user's read marker, for a
	// room the user is a member of.
	Unread uint64 `cbor:"6,keyasint,omitempty"`
}

// ReadRequest moves the user's read marker in Room forward to Seq (capped
// at the room's last seq; a marker never moves back).
type ReadRequest struct {
	Room string `cbor:"1,keyasint"`
	Seq  uint64 `cbor:"2,keyasint"`
}

// ReadResponse tells where the marker is now.
type ReadResponse struct {
	Seq uint64 `cbor:"1,keyasint"`
}

// WhoRequest asks for one page of the members of Room: those named after
// After, at most Limit (as in RoomsRequest).
type WhoRequest struct {
	Room  string `cbor:"1,keyasint"`
	After string `cbor:"2,keyasint,omitempty"`
	Limit int    `cbor:"3,keyasint,omitempty"`
}

// WhoResponse lists a page of a room's members in name order; Next is the
// After of the next page, "" after the last.
type WhoResponse struct {
	Members []Member `cbor:"1,keyasint"`
	// Typing lists, in name order, the users other than the asker who are
	// typing in the room (see OpTyping).
	Typing []string `cbor:"2,keyasint,omitempty"`
	// Next is the After of the next page, "" after the last.
	Next string `cbor:"3,keyasint,omitempty"`
}

// Member is one member of a room. Online means the user has a live session
// on some node of the cluster.
type Member struct {
	User   string `cbor:"1,keyasint"`
	Online bool   `cbor:"2,keyasint,omitempty"`
}

// PresenceRequest asks a node for one page of its users with live
// sessions: those named after After, at most Limit (as in RoomsRequest).
type PresenceRequest struct {
	After string `cbor:"1,keyasint,omitempty"`
	Limit int    `cbor:"2,keyasint,omitempty"`
}

// PingRequest is the body of OpPing. It has no fields; a body that is not
// a CBOR map (or null) is refused as invalid.
type PingRequest struct{}

// PresenceResponse lists the users with at least one live session on the
// serving node, in name order.
type PresenceResponse struct {
	Users []string `cbor:"1,keyasint"`
	// Typing lists who is typing where, among the node's sessions.
	Typing []Typing `cbor:"2,keyasint,omitempty"`
	// Next is the After of the next page of Users, "" after the last.
	// Typing is on the first page only.
	Next string `cbor:"3,keyasint,omitempty"`
}

// Page returns the entries of sorted (by key) named after after, at most
// limit of them (MaxPage if limit is 0 or larger), and the cursor of the
// next page: the last key returned if more remain, else "".
func Page[T any](sorted []T, key func(T) string, after string, limit int) ([]T, string) {
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	i, _ := slices.BinarySearchFunc(sorted, after, func(e T, a string) int { return strings.Compare(key(e), a) })
	for i < len(sorted) && after != "" && key(sorted[i]) <= after {
		i++
	}
	rest := sorted[i:]
	if len(rest) <= limit {
		return rest, ""
	}
	return rest[:limit], key(rest[limit-1])
}
