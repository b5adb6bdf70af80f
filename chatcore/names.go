package chatcore

import (
	"fmt"
	"unicode/utf8"
)

// Limits on names and messages. Every input from the network is bounded.
const (
	MaxRoomName  = 64
	MaxUserName  = 32
	MaxNodeName  = 64
	MaxTextBytes = 16 << 10
)

// ValidateRoom checks a room name: 1 to 64 characters of a-z, 0-9, '-', '_'
// and '.', starting with a letter or digit.
func ValidateRoom(name string) error {
	if err := validateName(name, MaxRoomName); err != nil {
		return fmt.Errorf("room name: %w", err)
	}
	return nil
}

// ValidateUser checks a user name with the rules of ValidateRoom, 1 to 32
// characters.
func ValidateUser(name string) error {
	if err := validateName(name, MaxUserName); err != nil {
		return fmt.Errorf("user name: %w", err)
	}
	return nil
}

// ValidateNodeName checks a node name with the rules of ValidateRoom.
func ValidateNodeName(name string) error {
	if err := validateName(name, MaxNodeName); err != nil {
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

func validateName(name string, max int) error {
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
		if !alnum && c != '-' && c != '_' && c != '.' {
			return fmt.Errorf("%q may hold only a-z, 0-9, '-', '_' and '.': %w", name, ErrInvalid)
		}
	}
	return nil
}
