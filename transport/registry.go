package transport

// OpRegistryMember is node to node: what the registry, read at a quorum on
// the serving node, says of a node (RegistryMemberRequest,
// RegistryMemberResponse). A node whose own registry replica hears no
// leader asks it of the others, to learn whether the registry replaced
// that replica while it was away. Only a session whose TLS client
// certificate the cluster CA signed may ask.
const OpRegistryMember = "registry.member"

// RegistryMemberRequest names the node asked about.
type RegistryMemberRequest struct {
	Node uint64 `cbor:"1,keyasint"`
}

// RegistryMemberResponse is the node's registry state ("" active,
// "draining", "removed") and the generation of its registry replica.
type RegistryMemberResponse struct {
	State string `cbor:"1,keyasint,omitempty"`
	Gen   uint64 `cbor:"2,keyasint,omitempty"`
}
