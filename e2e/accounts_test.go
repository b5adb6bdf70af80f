package e2e

import (
	"strings"
	"testing"
)

// lastLine is the last non-empty line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// TestCLIAccounts runs accounts from the parley CLI on a cluster of its
// own (its sign-up policy changes): an admin makes sign-up by invite and
// an invite code, a user signs up with it and a second use is refused; a
// reset password shuts the old one out; passwd and join tokens round-trip.
func TestCLIAccounts(t *testing.T) {
	c := startCluster(t)
	// The harness's probes logged in first: "probe" is the admin.
	boss := c.cli(t, "probe")
	boss.mustRun(t, "", "rooms")
	eve := c.cli(t, "eve")
	eve.mustRun(t, "", "rooms")

	wantFail := func(r cliResult, what, want string) {
		t.Helper()
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Fatalf("%s: exit %d, stderr %q; want a failure saying %q", what, r.code, r.stderr, want)
		}
	}
	wantFail(eve.run(t, "", "admin", "set", "signup", "invite"), "eve sets signup", "forbidden")
	wantFail(eve.run(t, "", "admin", "invite", "new"), "eve makes an invite", "forbidden")
	wantFail(boss.run(t, "", "admin", "invite", "new", "--ttl", "soon"), "bad ttl", "invalid value")
	wantFail(boss.run(t, "", "admin", "set", "signup", "maybe"), "bad policy", "invalid")
	c.cli(t, "early").mustRun(t, "", "rooms") // still open

	boss.mustRun(t, "", "admin", "set", "signup", "invite")
	wantFail(c.cli(t, "nocode").run(t, "", "rooms"), "sign-up without a code", "invite code")
	code := lastLine(boss.mustRun(t, "", "admin", "invite", "new", "--uses", "1", "--ttl", "1h").stdout)
	if len(code) < 20 {
		t.Fatalf("invite code %q", code)
	}
	c.cli(t, "newbie").mustRun(t, "", "rooms", "--invite", code)
	wantFail(c.cli(t, "second").run(t, "", "rooms", "--invite", code), "second use of a single-use code", "used up")
	c.cli(t, "newbie").mustRun(t, "", "rooms") // an account needs no code

	// reset-password: the old password is refused, the printed one works.
	wantFail(eve.run(t, "", "admin", "user", "reset-password", "newbie"), "eve resets a password", "forbidden")
	wantFail(boss.run(t, "", "admin", "user", "reset-password", "nobody"), "reset of an unknown user", "no account")
	fresh := lastLine(boss.mustRun(t, "", "admin", "user", "reset-password", "newbie").stdout)
	wantFail(c.cli(t, "newbie").run(t, "", "rooms"), "the old password after reset", "unauthorized")
	newbie := c.cli(t, "newbie")
	newbie.password = fresh
	newbie.mustRun(t, "", "rooms")

	// passwd: a wrong old password changes nothing, the right one works.
	bad := newbie
	bad.password, bad.extra = "wrong", []string{"PARLEY_NEW_PASSWORD=chosen"}
	wantFail(bad.run(t, "", "passwd"), "passwd with a wrong old password", "unauthorized")
	newbie.extra = []string{"PARLEY_NEW_PASSWORD=chosen"}
	newbie.mustRun(t, "", "passwd")
	newbie.password, newbie.extra = "chosen", nil
	newbie.mustRun(t, "", "logout", "--everywhere")

	// disable: refused logins; enable: back.
	boss.mustRun(t, "", "admin", "user", "disable", "newbie")
	wantFail(newbie.run(t, "", "rooms"), "a disabled user", "disabled")
	boss.mustRun(t, "", "admin", "user", "enable", "newbie")
	newbie.mustRun(t, "", "rooms")

	// Join tokens: made, listed, revoked.
	out := boss.mustRun(t, "", "admin", "token", "new", "--uses", "2", "--ttl", "2h").stdout
	if !strings.Contains(out, "admits 2 node(s)") || !strings.Contains(lastLine(out), ".") {
		t.Fatalf("token new printed %q", out)
	}
	id := strings.Fields(out)[2]
	list := boss.mustRun(t, "", "admin", "token", "list").stdout
	if !strings.Contains(list, "bootstrap") || !strings.Contains(list, id) {
		t.Fatalf("token list %q: want bootstrap and %s", list, id)
	}
	wantFail(eve.run(t, "", "admin", "token", "list"), "eve lists tokens", "forbidden")
	boss.mustRun(t, "", "admin", "token", "revoke", id)
	if list := boss.mustRun(t, "", "admin", "token", "list").stdout; strings.Contains(list, id) {
		t.Fatalf("token list after revoke %q still has %s", list, id)
	}
}
