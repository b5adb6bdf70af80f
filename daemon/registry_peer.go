package daemon

import (
	"context"
	"fmt"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

// registryPeer asks other nodes, over their peer connections, what the
// registry says of a node (chatcore.RegistryPeer).
type registryPeer struct{ p *peers }

// RegistryMember asks node peer what the registry says of node.
func (r registryPeer) RegistryMember(ctx context.Context, peer chatcore.NodeRecord, node uint64) (chatcore.RegistryMember, error) {
	var resp transport.RegistryMemberResponse
	if err := r.p.call(ctx, peer, transport.OpRegistryMember, transport.RegistryMemberRequest{Node: node}, &resp); err != nil {
		return chatcore.RegistryMember{}, fmt.Errorf("registry member of node %d, asked of node %d: %w", node, peer.ID, err)
	}
	return chatcore.RegistryMember{State: resp.State, Gen: resp.Gen}, nil
}

// registryMember answers another node's OpRegistryMember.
func (ss *session) registryMember(ctx context.Context, r transport.RegistryMemberRequest) (transport.RegistryMemberResponse, error) {
	m, err := ss.srv.node.RegistryMemberOf(ctx, r.Node)
	if err != nil {
		return transport.RegistryMemberResponse{}, err
	}
	return transport.RegistryMemberResponse{State: m.State, Gen: m.Gen}, nil
}
