package daemon_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/daemon"
	"github.com/parleychat/parley/daemon/daemontest"
	"github.com/parleychat/parley/pki"
	"github.com/parleychat/parley/transport"
)

// The tests in this file drive account administration, invites, session
// revocation and join tokens through the SDK and the protocol, against
// in-process clusters over real QUIC.

// rawSession logs in as user with password over a bare protocol
// connection, which, unlike the SDK, never reconnects: its end is seen.
func rawSession(t *testing.T, c *daemontest.Cluster, i int, user, password string) *transport.Conn {
	t.Helper()
	pemBytes, err := os.ReadFile(c.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var conn *transport.Conn
	// A login of the same user elsewhere (an SDK client reconnecting)
	// may hold the node's password check for the account a moment.
	chatcoretest.WaitFor(t, time.Minute, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var err error
		conn, _, err = transport.Connect(ctx, c.Addr(i), transport.ConnectOptions{
			TLS:   transport.FingerprintTLSConfig(pki.Fingerprint(ca.Raw)),
			Hello: transport.Hello{User: user, Password: password},
		})
		if transport.CodeOf(err) == transport.CodeRateLimited {
			return err
		}
		if err != nil {
			t.Fatalf("raw session as %s: %v", user, err)
		}
		return nil
	})
	t.Cleanup(func() { conn.Close() })
	return conn
}

// waitEnded waits for a live session to be closed by the node.
func waitEnded(t *testing.T, conn *transport.Conn, what string) {
	t.Helper()
	select {
	case <-conn.Done():
		t.Logf("%s: session ended: %v", what, conn.Err())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: the live session is still open", what)
	}
}

func dialWith(t *testing.T, opts client.Options) (*client.Client, error) {
	t.Helper()
	opts.KnownClustersPath = filepath.Join(t.TempDir(), "known_clusters")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, opts)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func TestAccountsThroughTheSDK(t *testing.T) {
	c := daemontest.StartCluster(t, 3)
	root := dialAs(t, "root", c.Addr(0)) // the first account: admin
	bob := dialAs(t, "bob", c.Addr(1))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Nothing a non-admin asks for happens.
	wantCode(t, "bob sets signup", bob.SetSignup(ctx, transport.SignupInvite), transport.CodeForbidden)
	_, err := bob.NewInvite(ctx, 1, time.Hour)
	wantCode(t, "bob makes an invite", err, transport.CodeForbidden)
	_, err = bob.AddUser(ctx, "mallory", "pw")
	wantCode(t, "bob adds a user", err, transport.CodeForbidden)
	wantCode(t, "bob disables root", bob.DisableUser(ctx, "root"), transport.CodeForbidden)
	_, err = bob.ResetPassword(ctx, "root", "x")
	wantCode(t, "bob resets root", err, transport.CodeForbidden)
	_, _, err = bob.NewJoinToken(ctx, 1, time.Hour)
	wantCode(t, "bob makes a join token", err, transport.CodeForbidden)
	if _, err := dialWith(t, client.Options{Servers: c.Addrs(), User: "mallory", Password: "pw"}); err != nil {
		t.Fatalf("sign-up still open after refused changes: %v", err)
	}
	if _, err := dialWith(t, client.Options{Servers: c.Addrs(), User: "root", Password: "pw-root"}); err != nil {
		t.Fatalf("root after refused changes: %v", err)
	}
	// Below, bob's password changes under it: it would log in again and
	// again with the old one.
	bob.Close()

	// Bad input: a clear error, nothing changes.
	wantCode(t, "bad policy", root.SetSignup(ctx, "maybe"), transport.CodeInvalid)
	_, err = root.Admin(ctx, transport.AdminInvite, "new", "1", "forever")
	wantCode(t, "bad ttl", err, transport.CodeInvalid)
	_, err = root.Admin(ctx, transport.AdminInvite, "new", "many", "1h")
	wantCode(t, "bad uses", err, transport.CodeInvalid)
	_, err = root.Admin(ctx, transport.AdminUser, "explode", "bob")
	wantCode(t, "unknown user action", err, transport.CodeInvalid)
	wantCode(t, "disable unknown", root.DisableUser(ctx, "nobody"), transport.CodeNotFound)

	// Invite only: a single-use code signs up exactly one of two racers.
	if err := root.SetSignup(ctx, transport.SignupInvite); err != nil {
		t.Fatal(err)
	}
	if _, err := dialWith(t, client.Options{Servers: c.Addrs(), User: "carl", Password: "pw"}); transport.CodeOf(err) != transport.CodeForbidden {
		t.Fatalf("sign-up with no invite: %v, want forbidden", err)
	}
	// The web login's sign-up: refused without a code, in with one.
	if got := postLogin(t, c.Server(0).HTTPAddr(), map[string]string{"user": "webby", "password": "pw"}); got != http.StatusForbidden {
		t.Fatalf("web sign-up with no invite: %d, want 403", got)
	}
	webCode, err := root.NewInvite(ctx, 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := postLogin(t, c.Server(0).HTTPAddr(), map[string]string{"user": "webby", "password": "pw", "invite": webCode}); got != http.StatusOK {
		t.Fatalf("web sign-up with an invite: %d, want 200", got)
	}
	code, err := root.NewInvite(ctx, 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			_, errs[i] = dialWith(t, client.Options{Servers: []string{c.Addr(i + 1)}, User: fmt.Sprintf("racer%d", i), Password: "pw", Invite: code})
		})
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("one single-use code, two racers: %v, %v: want exactly one in", errs[0], errs[1])
	}
	for _, err := range errs {
		if err != nil && transport.CodeOf(err) != transport.CodeForbidden {
			t.Fatalf("the loser: %v, want forbidden", err)
		}
	}

	// Reset password: the old password is refused, live sessions end.
	live := rawSession(t, c, 2, "bob", "pw-bob")
	pw, err := root.ResetPassword(ctx, "bob", "")
	if err != nil || pw == "" {
		t.Fatalf("reset: %q %v", pw, err)
	}
	waitEnded(t, live, "after reset")
	if _, err := dialWith(t, client.Options{Servers: c.Addrs(), User: "bob", Password: "pw-bob"}); transport.CodeOf(err) != transport.CodeUnauthorized {
		t.Fatalf("old password after reset: %v, want unauthorized", err)
	}
	if _, err := dialWith(t, client.Options{Servers: c.Addrs(), User: "bob", Password: pw}); err != nil {
		t.Fatalf("new password: %v", err)
	}

	// passwd: a wrong old password changes nothing; the right one ends
	// the other sessions, not this one.
	self := rawSession(t, c, 1, "bob", pw)
	other := rawSession(t, c, 0, "bob", pw)
	var resp transport.AccountResponse
	err = self.Call(ctx, transport.OpAccount, transport.AccountRequest{Action: transport.AccountPasswd, OldPassword: "wrong", NewPassword: "pw-3"}, &resp)
	wantCode(t, "passwd with a wrong old password", err, transport.CodeUnauthorized)
	// The failure slows the next password check of bob down.
	chatcoretest.WaitFor(t, time.Minute, func() error {
		err := self.Call(ctx, transport.OpAccount, transport.AccountRequest{Action: transport.AccountPasswd, OldPassword: pw, NewPassword: "pw-3"}, &resp)
		if transport.CodeOf(err) == transport.CodeRateLimited {
			return err
		}
		if err != nil || resp.Token == "" {
			t.Fatalf("passwd: %+v %v", resp, err)
		}
		return nil
	})
	waitEnded(t, other, "after passwd")
	select {
	case <-self.Done():
		t.Fatalf("the session that changed the password ended: %v", self.Err())
	case <-time.After(3 * time.Second): // three account checks
	}
	var rooms transport.RoomsResponse
	if err := self.Call(ctx, transport.OpRooms, transport.RoomsRequest{}, &rooms); err != nil {
		t.Fatalf("the session that changed the password: %v", err)
	}
	// The SDK carries on with its new token and password.
	bob2, err := dialWith(t, client.Options{Servers: c.Addrs(), User: "bob", Password: "pw-3"})
	if err != nil {
		t.Fatal(err)
	}
	if err := bob2.ChangePassword(ctx, "pw-3", "pw-4"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob2.Rooms(ctx); err != nil {
		t.Fatalf("the SDK session that changed the password: %v", err)
	}
	if err := bob2.ChangePassword(ctx, "pw-4", "pw-3"); err != nil {
		t.Fatal(err)
	}
	bob2.Close()

	// Disable: live sessions end, logins are refused; enable undoes it.
	live = rawSession(t, c, 1, "bob", "pw-3")
	if err := root.DisableUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, live, "after disable")
	if _, err := dialWith(t, client.Options{Servers: c.Addrs(), User: "bob", Password: "pw-3"}); transport.CodeOf(err) != transport.CodeForbidden {
		t.Fatalf("disabled login: %v, want forbidden", err)
	}
	if err := root.EnableUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := dialWith(t, client.Options{Servers: c.Addrs(), User: "bob", Password: "pw-3"}); err != nil {
		t.Fatalf("enabled login: %v", err)
	}

	// Log out everywhere and revoke-sessions end live sessions.
	live = rawSession(t, c, 2, "bob", "pw-3")
	bob3, err := dialWith(t, client.Options{Servers: c.Addrs(), User: "bob", Password: "pw-3"})
	if err != nil {
		t.Fatal(err)
	}
	if err := bob3.LogoutEverywhere(ctx); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, live, "after logout everywhere")
	bob3.Close() // it would log in again with its password
	live = rawSession(t, c, 0, "bob", "pw-3")
	if err := root.RevokeSessions(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, live, "after revoke-sessions")

	// Closed: nobody signs up, an admin adds accounts.
	if err := root.SetSignup(ctx, transport.SignupClosed); err != nil {
		t.Fatal(err)
	}
	if _, err := dialWith(t, client.Options{Servers: c.Addrs(), User: "dave", Password: "pw"}); transport.CodeOf(err) != transport.CodeForbidden {
		t.Fatalf("sign-up while closed: %v, want forbidden", err)
	}
	if _, err := root.AddUser(ctx, "dave", "pw-dave"); err != nil {
		t.Fatal(err)
	}
	if _, err := dialWith(t, client.Options{Servers: c.Addrs(), User: "dave", Password: "pw-dave"}); err != nil {
		t.Fatalf("added user: %v", err)
	}
}

// TestSingleUseJoinToken starts two nodes at once with one single-use join
// token: exactly one joins; a revoked bootstrap token admits nobody, while
// a new token does.
func TestSingleUseJoinToken(t *testing.T) {
	c := daemontest.StartCluster(t, 1)
	root := dialAs(t, "root", c.Addr(0))
	ctx := opCtx(t)
	token, id, err := root.NewJoinToken(ctx, 1, time.Hour)
	if err != nil || id == "" {
		t.Fatalf("new join token: %q %v", id, err)
	}
	start := func(name, token string) (*daemon.Server, error) {
		cfg := daemon.Config{
			DataDir: filepath.Join(t.TempDir(), name), Name: name,
			Listen: "127.0.0.1:0", Raft: chatcoretest.FreeAddr(t), HTTP: "127.0.0.1:0", Advertise: "127.0.0.1",
			Profile: "small", Join: c.Addr(0), Token: token,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		}
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		srv, err := daemon.Start(sctx, cfg)
		if err == nil {
			t.Cleanup(func() { srv.Close() })
		}
		return srv, err
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { _, errs[i] = start(fmt.Sprintf("j%d", i), token) })
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("one single-use token, two nodes: %v, %v: want exactly one in", errs[0], errs[1])
	}
	if _, err := start("j2", token); err == nil {
		t.Fatal("a used-up token admitted a third node")
	}
	list, err := root.JoinTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "bootstrap" || list[0].Uses != -1 || list[1].ID != id || list[1].Uses != 0 {
		t.Fatalf("join tokens: %+v", list)
	}
	if err := root.RevokeJoinToken(ctx, "bootstrap"); err != nil {
		t.Fatal(err)
	}
	boot, err := os.ReadFile(daemon.JoinTokenFile(c.Config(0).DataDir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := start("j3", string(trimSpace(boot))); err == nil {
		t.Fatal("the revoked bootstrap token admitted a node")
	}
	fresh, _, err := root.NewJoinToken(ctx, 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := start("j4", fresh); err != nil {
		t.Fatalf("a fresh token after revoking the bootstrap one: %v", err)
	}
}

// postLogin posts body to node's web login and returns the status.
func postLogin(t *testing.T, httpAddr string, body map[string]string) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(opCtx(t), http.MethodPost, "http://"+httpAddr+"/api/login", bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("web login: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
