package main

import (
	"context"
	"fmt"
)

// runPasswd implements "parley passwd": it logs in with the current
// password (PARLEY_PASSWORD or asked) and sets the new one
// (PARLEY_NEW_PASSWORD, else asked twice). The user's other sessions are
// logged out.
func runPasswd(ctx context.Context, e *env, args []string) error {
	f := newFlagSet("passwd", "parley passwd [flags]")
	if err := f.parse(e, args); err != nil {
		return err
	}
	if f.NArg() != 0 {
		return usagef("passwd takes no arguments")
	}
	c, s, err := f.common.dial(ctx, e, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	newPassword := e.getenv(envNewPassword)
	if newPassword == "" {
		if newPassword, err = e.askPassword(s.user + " (new)"); err != nil {
			return fmt.Errorf("new password: %w", err)
		}
		again, err := e.askPassword(s.user + " (new, again)")
		if err != nil {
			return fmt.Errorf("new password: %w", err)
		}
		if again != newPassword {
			return usagef("the new passwords differ")
		}
	}
	if newPassword == "" {
		return usagef("the new password is empty")
	}
	octx, cancel := s.operation(ctx)
	defer cancel()
	if err := c.ChangePassword(octx, s.password, newPassword); err != nil {
		return err
	}
	return newPrinter(e.stdout, s.json).adminResult("password changed; your other sessions are logged out")
}

// runLogout implements "parley logout --everywhere": every session token
// of the user is revoked and its live sessions end.
func runLogout(ctx context.Context, e *env, args []string) error {
	f := newFlagSet("logout", "parley logout --everywhere [flags]")
	everywhere := f.Bool("everywhere", false, "log out every session of the user (required: the CLI keeps no session of its own)")
	if err := f.parse(e, args); err != nil {
		return err
	}
	if f.NArg() != 0 {
		return usagef("logout takes no arguments")
	}
	if !*everywhere {
		return usagef("parley keeps no session between commands: logout needs --everywhere")
	}
	c, s, err := f.common.dial(ctx, e, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	octx, cancel := s.operation(ctx)
	defer cancel()
	if err := c.LogoutEverywhere(octx); err != nil {
		return err
	}
	return newPrinter(e.stdout, s.json).adminResult("every session of " + s.user + " is logged out")
}
