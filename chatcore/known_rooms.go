package chatcore

import "sync"

// knownRooms remembers the rooms this node has seen in the registry's
// directory, so that a send into a known room skips the registry lookup:
// rooms are never deleted, so a room once known stays known.
type knownRooms struct {
	m sync.Map // room name → struct{}
}

// has reports whether room is known to be in the directory.
func (k *knownRooms) has(room string) bool {
	_, ok := k.m.Load(room)
	return ok
}

// add records that room is in the directory.
func (k *knownRooms) add(room string) { k.m.Store(room, struct{}{}) }
