package chatcore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/pki"
)

// TestAccountAdmin drives sign-up policies, invites, admin account actions
// and session revocation on a real three-node cluster; every refused
// action changes nothing.
func TestAccountAdmin(t *testing.T) {
	c := chatcoretest.StartCluster(t, 3, chatcoretest.Options{Argon: "small"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n0, n1, n2 := c.Nodes[0], c.Nodes[1], c.Nodes[2]
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(t, n0.Login(ctx, "root", "root-pw")) // the first account: admin
	must(t, n1.Login(ctx, "bob", "bob-pw"))

	t.Run("signup policy", func(t *testing.T) {
		if err := n1.SetSignup(ctx, "bob", chatcore.SignupInvite); !errors.Is(err, parley.ErrForbidden) {
			t.Fatalf("non-admin set signup: %v, want forbidden", err)
		}
		if p, err := n2.Signup(ctx); err != nil || p != chatcore.SignupOpen {
			t.Fatalf("policy after refused change: %q %v, want open", p, err)
		}
		if err := n0.SetSignup(ctx, "root", "sometimes"); !errors.Is(err, parley.ErrInvalid) {
			t.Fatalf("bad policy: %v, want invalid", err)
		}
		must(t, n0.SetSignup(ctx, "root", chatcore.SignupInvite))
		if err := n1.Login(ctx, "carl", "pw"); !errors.Is(err, parley.ErrForbidden) {
			t.Fatalf("sign-up without invite: %v, want forbidden", err)
		}
		if _, err := n1.NewInvite(ctx, "bob", 1, time.Hour); !errors.Is(err, parley.ErrForbidden) {
			t.Fatalf("non-admin invite: %v, want forbidden", err)
		}
		if _, err := n0.NewInvite(ctx, "root", 0, time.Hour); !errors.Is(err, parley.ErrInvalid) {
			t.Fatalf("invite of 0 uses: %v, want invalid", err)
		}
		// Existing accounts log in as before.
		must(t, n2.Login(ctx, "bob", "bob-pw"))
	})

	t.Run("single-use invite admits exactly one", func(t *testing.T) {
		for round := range 3 {
			code, err := n0.NewInvite(ctx, "root", 1, time.Hour)
			must(t, err)
			names := []string{"racer" + string(rune('a'+round)) + "x", "racer" + string(rune('a'+round)) + "y"}
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, name := range names {
				wg.Go(func() { errs[i] = c.Nodes[i+1].SignUp(ctx, name, "pw", code) })
			}
			wg.Wait()
			won := 0
			for i, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, parley.ErrForbidden):
					t.Fatalf("round %d: loser %s: %v, want forbidden", round, names[i], err)
				}
			}
			if won != 1 {
				t.Fatalf("round %d: %d sign-ups won with one single-use code (%v)", round, won, errs)
			}
			for i, name := range names {
				err := n0.Login(ctx, name, "other-pw")
				if errs[i] == nil && !errors.Is(err, parley.ErrUnauthorized) {
					t.Fatalf("winner %s: login with another password: %v, want unauthorized", name, err)
				}
				if errs[i] != nil && !errors.Is(err, parley.ErrForbidden) {
					t.Fatalf("loser %s has an account? login: %v, want forbidden (no sign-up)", name, err)
				}
			}
		}
		code, err := n0.NewInvite(ctx, "root", 2, time.Hour)
		must(t, err)
		must(t, n1.SignUp(ctx, "dora", "pw", code))
		must(t, n2.SignUp(ctx, "emil", "pw", code))
		if err := n1.SignUp(ctx, "fred", "pw", code); !errors.Is(err, parley.ErrForbidden) {
			t.Fatalf("third use of a two-use code: %v, want forbidden", err)
		}
	})

	t.Run("closed", func(t *testing.T) {
		must(t, n0.SetSignup(ctx, "root", chatcore.SignupClosed))
		code, err := n0.NewInvite(ctx, "root", 1, time.Hour)
		must(t, err)
		if err := n1.SignUp(ctx, "gina", "pw", code); !errors.Is(err, parley.ErrForbidden) {
			t.Fatalf("sign-up while closed: %v, want forbidden", err)
		}
		if _, err := n1.AddUser(ctx, "bob", "gina", "pw"); !errors.Is(err, parley.ErrForbidden) {
			t.Fatalf("non-admin add user: %v, want forbidden", err)
		}
		pw, err := n2.AddUser(ctx, "root", "gina", "")
		must(t, err)
		if len(pw) < 12 {
			t.Fatalf("made password %q too short", pw)
		}
		must(t, n1.Login(ctx, "gina", pw))
		if _, err := n2.AddUser(ctx, "root", "gina", "x"); !errors.Is(err, chatcore.ErrExists) {
			t.Fatalf("add existing user: %v, want exists", err)
		}
		must(t, n1.Login(ctx, "gina", pw)) // unchanged
		must(t, n0.SetSignup(ctx, "root", chatcore.SignupOpen))
		must(t, n1.Login(ctx, "hugo", "pw"))
	})

	t.Run("reset password revokes sessions", func(t *testing.T) {
		tok, err := n1.IssueSessionToken("bob")
		must(t, err)
		if _, err := n2.ResetPassword(ctx, "dora", "bob", "x"); !errors.Is(err, parley.ErrForbidden) {
			t.Fatalf("non-admin reset: %v, want forbidden", err)
		}
		must(t, n0.Login(ctx, "bob", "bob-pw"))
		if u, err := n2.CheckSessionToken(ctx, tok); err != nil || u != "bob" {
			t.Fatalf("token after refused reset: %q %v", u, err)
		}
		if _, err := n0.ResetPassword(ctx, "root", "nobody", "x"); !errors.Is(err, parley.ErrNotFound) {
			t.Fatalf("reset of unknown user: %v, want not found", err)
		}
		_, err = n0.ResetPassword(ctx, "root", "bob", "bob-pw-2")
		must(t, err)
		// Any node, at once: the check reads through the registry.
		if _, err := n2.CheckSessionToken(ctx, tok); !errors.Is(err, parley.ErrUnauthorized) {
			t.Fatalf("old token after reset: %v, want unauthorized", err)
		}
		if err := n1.Login(ctx, "bob", "bob-pw"); !errors.Is(err, parley.ErrUnauthorized) {
			t.Fatalf("old password after reset: %v, want unauthorized", err)
		}
		must(t, n1.Login(ctx, "bob", "bob-pw-2"))
		chatcoretest.WaitFor(t, 30*time.Second, func() error {
			if err := n1.SessionLive(tok); !errors.Is(err, parley.ErrUnauthorized) {
				return errors.New("the live-session check still accepts the old token")
			}
			return nil
		})
	})

	t.Run("change own password", func(t *testing.T) {
		tok, err := n1.IssueSessionToken("bob")
		must(t, err)
		if err := n2.ChangePassword(ctx, "bob", "wrong", "new"); !errors.Is(err, parley.ErrUnauthorized) {
			t.Fatalf("wrong old password: %v, want unauthorized", err)
		}
		if _, err := n0.CheckSessionToken(ctx, tok); err != nil {
			t.Fatalf("token after a refused change: %v", err)
		}
		must(t, n2.ChangePassword(ctx, "bob", "bob-pw-2", "bob-pw-3"))
		if _, err := n0.CheckSessionToken(ctx, tok); !errors.Is(err, parley.ErrUnauthorized) {
			t.Fatalf("old token after change: %v, want unauthorized", err)
		}
		fresh, err := n2.IssueSessionToken("bob")
		must(t, err)
		if _, err := n0.CheckSessionToken(ctx, fresh); err != nil {
			t.Fatalf("token issued after the change: %v", err)
		}
		must(t, n0.Login(ctx, "bob", "bob-pw-3"))
		// Log out everywhere: the user's own, or an admin's revoke.
		if err := n1.RevokeSessions(ctx, "dora", "bob"); !errors.Is(err, parley.ErrForbidden) {
			t.Fatalf("revoke another's sessions: %v, want forbidden", err)
		}
		if _, err := n0.CheckSessionToken(ctx, fresh); err != nil {
			t.Fatalf("token after a refused revoke: %v", err)
		}
		must(t, n1.RevokeSessions(ctx, "bob", "bob"))
		if _, err := n0.CheckSessionToken(ctx, fresh); !errors.Is(err, parley.ErrUnauthorized) {
			t.Fatalf("token after logout everywhere: %v, want unauthorized", err)
		}
	})

	t.Run("disable", func(t *testing.T) {
		tok, err := n1.IssueSessionToken("dora")
		must(t, err)
		if err := n1.SetDisabled(ctx, "bob", "dora", true); !errors.Is(err, parley.ErrForbidden) {
			t.Fatalf("non-admin disable: %v, want forbidden", err)
		}
		if err := n0.SetDisabled(ctx, "root", "root", true); !errors.Is(err, parley.ErrInvalid) {
			t.Fatalf("admin disables itself: %v, want invalid", err)
		}
		must(t, n2.Login(ctx, "dora", "pw"))
		must(t, n0.SetDisabled(ctx, "root", "dora", true))
		must(t, n0.SetDisabled(ctx, "root", "dora", true)) // again: done
		if err := n2.Login(ctx, "dora", "pw"); !errors.Is(err, parley.ErrForbidden) {
			t.Fatalf("disabled login: %v, want forbidden", err)
		}
		if _, err := n1.CheckSessionToken(ctx, tok); err == nil {
			t.Fatal("disabled account resumed a session")
		}
		// A disabled admin is no admin.
		must(t, n0.GrantAdmin(ctx, "root", "emil"))
		must(t, n0.SetDisabled(ctx, "root", "emil", true))
		if _, err := n1.NewInvite(ctx, "emil", 1, time.Hour); !errors.Is(err, parley.ErrForbidden) {
			t.Fatalf("disabled admin makes an invite: %v, want forbidden", err)
		}
		must(t, n0.SetDisabled(ctx, "root", "dora", false))
		must(t, n2.Login(ctx, "dora", "pw"))
		if _, err := n1.CheckSessionToken(ctx, tok); !errors.Is(err, parley.ErrUnauthorized) {
			t.Fatalf("token from before disabling, after enabling: %v, want unauthorized", err)
		}
		if err := n0.SetDisabled(ctx, "root", "nobody", true); !errors.Is(err, parley.ErrNotFound) {
			t.Fatalf("disable unknown user: %v, want not found", err)
		}
	})
}

// TestJoinTokens admits nodes with tokens an admin made: a single-use token
// admits exactly one of two racing nodes, a retry of the admitted node
// works, revoked and expired tokens admit nobody, and revoking the
// bootstrap token leaves the others working.
func TestJoinTokens(t *testing.T) {
	c := chatcoretest.StartCluster(t, 1, chatcoretest.Options{Argon: "small"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n := c.Nodes[0]
	if err := n.Login(ctx, "root", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := n.Login(ctx, "bob", "pw"); err != nil {
		t.Fatal(err)
	}
	req := func(name string) chatcore.AdmitRequest {
		_, pub, err := pki.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		return chatcore.AdmitRequest{Name: name, RaftAddr: chatcoretest.FreeAddr(t), ClientAddr: "127.0.0.1:1", PublicKey: pub}
	}
	if _, _, err := n.NewJoinToken(ctx, "bob", 1, time.Hour); !errors.Is(err, parley.ErrForbidden) {
		t.Fatalf("non-admin token: %v, want forbidden", err)
	}
	if _, _, err := n.NewJoinToken(ctx, "root", 1, -time.Hour); !errors.Is(err, parley.ErrInvalid) {
		t.Fatalf("negative ttl: %v, want invalid", err)
	}
	token, rec, err := n.NewJoinToken(ctx, "root", 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.CheckJoinToken(ctx, token); err != nil {
		t.Fatalf("new token: %v", err)
	}
	reqs := []chatcore.AdmitRequest{req("x1"), req("x2")}
	ids := make([]uint64, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range reqs {
		reqs[i].Token = token
		wg.Go(func() {
			adm, err := n.Admit(ctx, reqs[i])
			ids[i], errs[i] = adm.NodeID, err
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("a single-use token admitted two nodes: %v", ids)
			}
			winner = i
		} else if !errors.Is(err, parley.ErrUnauthorized) {
			t.Fatalf("loser: %v, want unauthorized", err)
		}
	}
	if winner < 0 {
		t.Fatalf("nobody admitted: %v", errs)
	}
	// The winner's answer was lost: it retries with the same token.
	again, err := n.Admit(ctx, reqs[winner])
	if err != nil || again.NodeID != ids[winner] {
		t.Fatalf("retried admission: %+v %v, want node %d", again, err, ids[winner])
	}
	if _, err := n.Admit(ctx, withToken(req("x3"), token)); !errors.Is(err, parley.ErrUnauthorized) {
		t.Fatalf("used-up token: %v, want unauthorized", err)
	}
	list, err := n.JoinTokens(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != chatcore.BootstrapTokenID || list[1].ID != rec.ID || list[1].Uses != 0 {
		t.Fatalf("tokens: %+v", list)
	}
	if _, err := n.JoinTokens(ctx, "bob"); !errors.Is(err, parley.ErrForbidden) {
		t.Fatalf("non-admin list: %v, want forbidden", err)
	}

	// Revoking: a live two-use token, then the bootstrap token.
	two, rec2, err := n.NewJoinToken(ctx, "root", 2, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.RevokeJoinToken(ctx, "bob", rec2.ID); !errors.Is(err, parley.ErrForbidden) {
		t.Fatalf("non-admin revoke: %v, want forbidden", err)
	}
	if err := n.CheckJoinToken(ctx, two); err != nil {
		t.Fatalf("token after a refused revoke: %v", err)
	}
	if err := n.RevokeJoinToken(ctx, "root", "nosuchid"); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("revoke unknown: %v, want not found", err)
	}
	if err := n.RevokeJoinToken(ctx, "root", rec2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Admit(ctx, withToken(req("x4"), two)); !errors.Is(err, parley.ErrUnauthorized) {
		t.Fatalf("revoked token: %v, want unauthorized", err)
	}
	if err := n.RevokeJoinToken(ctx, "root", chatcore.BootstrapTokenID); err != nil {
		t.Fatal(err)
	}
	info, err := n.ClusterInfo(ctx)
	if err != nil || len(info.TokenHash) != 0 {
		t.Fatalf("bootstrap token still recorded: %v", err)
	}
	three, _, err := n.NewJoinToken(ctx, "root", 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.CheckJoinToken(ctx, three); err != nil {
		t.Fatalf("new token after revoking the bootstrap one: %v", err)
	}
	if err := n.CheckJoinToken(ctx, "garbage"); !errors.Is(err, parley.ErrUnauthorized) {
		t.Fatalf("garbage token: %v, want unauthorized", err)
	}
}

func withToken(r chatcore.AdmitRequest, token string) chatcore.AdmitRequest {
	r.Token = token
	return r
}
