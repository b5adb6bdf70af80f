package chatcore

import "github.com/parleychat/parley"

// checkUse is the one check every read, write and membership call makes
// before touching a room: the room and user names are valid and user may
// use room (parley.CheckAccess: a direct-message room is its two
// participants' only). The room state machine checks access again when it
// applies a command.
func checkUse(room, user string) error {
	if err := parley.ValidateRoom(room); err != nil {
		return err
	}
	if err := parley.ValidateUser(user); err != nil {
		return err
	}
	return parley.CheckAccess(room, user)
}
