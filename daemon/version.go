package daemon

import (
	"strconv"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

// checkApplyVersion refuses a peer node whose state machines apply entries
// by other rules than this node's (chatcore.ApplyRulesVersion): the two
// would replicate one log into two different states. side names the peer in
// the message ("joining node", "peer").
func checkApplyVersion(side string, peer int) error {
	if peer == chatcore.ApplyRulesVersion {
		return nil
	}
	return transport.Errorf(transport.CodeInvalid,
		"apply rules differ: this node applies version %d, the %s version %s; run the same Parley release on every node",
		chatcore.ApplyRulesVersion, side, applyVersionName(peer))
}

func applyVersionName(v int) string {
	if v == 0 {
		return "0 (a release from before apply versions)"
	}
	return strconv.Itoa(v)
}

// nodeHello is the hello one node says to another: anonymous, with its
// apply rules version.
func nodeHello() transport.Hello {
	return transport.Hello{Version: transport.ProtocolVersion, ApplyVersion: chatcore.ApplyRulesVersion}
}

// nameFree refuses a joining node whose name another node of the cluster
// has (the same name and Raft address is the same node asking again). Two
// nodes started on one host take its host name by default, so the message
// says how to choose another.
func nameFree(node *chatcore.Node, name, raftAddr string) error {
	nodes, err := node.Nodes()
	if err != nil {
		return err
	}
	for _, o := range nodes {
		if o.Name == name && o.RaftAddr != raftAddr {
			return transport.Errorf(transport.CodeInvalid,
				"node %d (raft %s) is already named %q: give this node another name with --name", o.ID, o.RaftAddr, name)
		}
	}
	return nil
}
