package parley

import (
	"fmt"
	"unicode/utf8"
)

// Limits on names and messages. Every input from the network is bounded.
const (
	MaxRoomName = 64
	MaxUserName = 32
	// MaxDMRoomName is the longest direct-message room name: "dm." and two
	// user names of MaxUserName joined by '.'.
	MaxDMRoomName = len(DMPrefix) + 2*MaxUserName + 1
	MaxNodeName   = 64
	MaxTextBytes  = 16 << 10
)

// ValidateRoom checks a room name: 1 to 64 characters of a-z, 0-9, '-', '_'
// and '.', starting with a letter or digit. Names starting with DMPrefix are
// reserved for direct-message rooms and must be "dm.<a>.<b>", a and b two
// valid, different user names with a < b (see CheckAccess).
func ValidateRoom(name string) error {
	if IsDMRoom(name) {
		if _, _, ok := DMParticipants(name); !ok {
			return fmt.Errorf("room name: %q is not dm.<user>.<user> with two different users in order: %w", name, ErrInvalid)
		}
		return nil
	}
	if err := validateName(name, MaxRoomName, true); err != nil {
		return fmt.Errorf("room name: %w", err)
	}
	return nil
}

// ValidateUser checks a user name: 1 to 32 characters of a-z, 0-9, '-' and
// '_', starting with a letter or digit. Unlike room names it has no '.', so
// a direct-message room's name says unambiguously whose it is.
func ValidateUser(name string) error {
	if err := validateName(name, MaxUserName, false); err != nil {
		return fmt.Errorf("user name: %w", err)
	}
	return nil
}

// ValidateNodeName checks a node name with the rules of ValidateRoom.
func ValidateNodeName(name string) error {
	if err := validateName(name, MaxNodeName, true); err != nil {
		return fmt.Errorf("node name: %w", err)
	}
	return nil
}

// ValidateText checks a message body: valid UTF-8, not empty, at most
// MaxTextBytes.
func ValidateText(text string) error {
	switch {
	case text == "":
		return fmt.Errorf("text: empty: %w", ErrInvalid)
	case len(text) > MaxTextBytes:
		return fmt.Errorf("text: %d bytes, limit %d: %w", len(text), MaxTextBytes, ErrTooLarge)
	case !utf8.ValidString(text):
		return fmt.Errorf("text: not UTF-8: %w", ErrInvalid)
	}
	return nil
}

func validateName(name string, max int, dots bool) error {
	if name == "" {
		return fmt.Errorf("empty: %w", ErrInvalid)
	}
	if len(name) > max {
		return fmt.Errorf("%d characters, limit %d: %w", len(name), max, ErrInvalid)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if i == 0 && !alnum {
			return fmt.Errorf("%q must start with a-z or 0-9: %w", name, ErrInvalid)
		}
		if alnum || c == '-' || c == '_' || c == '.' && dots {
			continue
		}
		if dots {
			return fmt.Errorf("%q may hold only a-z, 0-9, '-', '_' and '.': %w", name, ErrInvalid)
		}
		return fmt.Errorf("%q may hold only a-z, 0-9, '-' and '_': %w", name, ErrInvalid)
	}
	return nil
}
