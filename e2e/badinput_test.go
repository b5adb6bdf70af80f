package e2e

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/internal/proc"
	"github.com/parleychat/parley/pki"
	"github.com/parleychat/parley/transport"
)

// TestBadInput feeds the cluster bad input through the raw wire protocol,
// the SDK, the CLI and parleyd --join: each must be refused with a clear,
// typed error, and must change nothing: afterwards the cluster still has
// its three nodes, formed, and a room written before holds the same
// history, identical on every node.
func TestBadInput(t *testing.T) {
	c := sharedCluster(t)
	base := uniq("bad-base")
	led := &ledger{}
	led.mustSend(t, c.Dial(t, "badwriter"), "badwriter", base, "base", 5)
	baseline := checkRoom(t, c, c.Nodes, base, led.snapshot())

	// unchanged checks that the cluster is as it was.
	unchanged := func(t *testing.T) {
		t.Helper()
		h := checkRoom(t, c, c.Nodes, base, led.snapshot())
		if err := sameHistory(baseline, h); err != nil {
			t.Errorf("room %s changed: %v", base, err)
		}
		// Polled: a leadership transfer under way can hide a shard's
		// membership from one status read.
		waitFor(t, settleTimeout, "cluster formed after bad input", func() error {
			ctx, cancel := opContext()
			defer cancel()
			return c.formed(ctx)
		})
	}

	t.Run("oversized_frame_as_hello", func(t *testing.T) {
		r := dialRaw(t, c, c.Nodes[0].Client)
		if err := r.write(oversizedFrame()); err != nil {
			t.Fatal(err)
		}
		var w transport.Welcome
		if err := r.read(&w); err != nil {
			t.Fatalf("no answer to an oversized first frame: %v", err)
		}
		expectCode(t, "oversized first frame", w.Error, transport.CodeTooLarge)
		r.waitClosed(t)
		unchanged(t)
	})

	t.Run("oversized_frame_after_hello", func(t *testing.T) {
		r := dialRaw(t, c, c.Nodes[1].Client)
		r.hello(t, "rawuser")
		if err := r.write(oversizedFrame()); err != nil {
			t.Fatal(err)
		}
		var resp transport.Response
		if err := r.read(&resp); err != nil {
			t.Fatalf("no answer to an oversized request frame: %v", err)
		}
		expectCode(t, "oversized request frame", resp.Error, transport.CodeTooLarge)
		r.waitClosed(t)
		unchanged(t)
	})

	t.Run("malformed_cbor", func(t *testing.T) {
		valid, err := parley.Marshal(transport.Request{ID: 7, Op: transport.OpStatus})
		if err != nil {
			t.Fatal(err)
		}
		bodies := []struct {
			name string
			body []byte
		}{
			{"truncated map", []byte{0xa1}},
			{"reserved additional information", []byte{0x1c}},
			{"lone break code", []byte{0xff}},
			{"indefinite-length map", []byte{0xbf, 0x01, 0x02, 0xff}},
			{"a text string, not a map", []byte{0x61, 'x'}},
			{"trailing bytes after a valid item", append(bytes.Clone(valid), 0x00)},
		}
		for i, b := range bodies {
			for _, afterHello := range []bool{false, true} {
				where := "as hello"
				if afterHello {
					where = "after hello"
				}
				r := dialRaw(t, c, c.Nodes[i%len(c.Nodes)].Client)
				var e *transport.Error
				if afterHello {
					r.hello(t, "rawuser")
				}
				if err := r.write(frame(b.body)); err != nil {
					t.Fatal(err)
				}
				if afterHello {
					var resp transport.Response
					if err := r.read(&resp); err != nil {
						t.Fatalf("%s %s: no answer: %v", b.name, where, err)
					}
					e = resp.Error
				} else {
					var w transport.Welcome
					if err := r.read(&w); err != nil {
						t.Fatalf("%s %s: no answer: %v", b.name, where, err)
					}
					e = w.Error
				}
				expectCode(t, b.name+" "+where, e, transport.CodeInvalid)
				// The node closes the control stream after its answer, and
				// then the connection.
				var v transport.Response
				if err := r.read(&v); !errors.Is(err, io.EOF) {
					t.Errorf("%s %s: after the error, read %+v, %v; want the stream closed", b.name, where, v, err)
				}
				if i == 0 {
					r.waitClosed(t)
				}
			}
		}
		unchanged(t)
	})

	t.Run("message_and_room_limits", func(t *testing.T) {
		cl := c.Dial(t, "badsdk")
		ctx, cancel := opContext()
		defer cancel()
		_, err := cl.Send(ctx, base, strings.Repeat("x", parley.MaxTextBytes+1))
		expectErrCode(t, "a message of MaxTextBytes+1", err, transport.CodeTooLarge)

		for _, room := range []string{"", strings.Repeat("r", parley.MaxRoomName+1), "Upper", "a b", "a/b", "-lead", "caf\u00e9", "a\x00b"} {
			_, err := cl.Send(ctx, room, "hello")
			expectErrCode(t, "send to room "+quote(room), err, transport.CodeInvalid)
		}
		_, err = cl.History(ctx, "a b", client.HistoryOptions{Last: 1})
		expectErrCode(t, "history of room \"a b\"", err, transport.CodeInvalid)
		_, err = cl.Subscribe(ctx, strings.Repeat("r", parley.MaxRoomName+1), 0)
		expectErrCode(t, "subscribe to a 65-character room", err, transport.CodeInvalid)

		// The SDK refuses an empty room itself; the node must too.
		r := dialRaw(t, c, c.Nodes[2].Client)
		r.hello(t, "rawuser")
		resp := r.call(t, 1, transport.OpSend, transport.SendRequest{Room: "", ID: parley.NewMsgID(time.Now()), Text: "x"})
		expectCode(t, "raw send to the empty room", resp.Error, transport.CodeInvalid)
		resp = r.call(t, 2, transport.OpSend, transport.SendRequest{Room: base, Text: "zero id"})
		expectCode(t, "raw send with a zero message id", resp.Error, transport.CodeInvalid)
		resp = r.call(t, 3, transport.OpSend, transport.SendRequest{Room: base, ID: parley.NewMsgID(time.Now()), Text: ""})
		expectCode(t, "raw send of an empty text", resp.Error, transport.CodeInvalid)
		resp = r.call(t, 4, "no-such-op", transport.StatusRequest{})
		expectCode(t, "unknown operation", resp.Error, transport.CodeInvalid)

		// The limits themselves are accepted: the checks are not off by
		// one.
		edge := uniq("bad-edge") + strings.Repeat("e", parley.MaxRoomName-len("bad-edge-12345678"))
		if len(edge) != parley.MaxRoomName {
			t.Fatalf("edge room name has %d characters", len(edge))
		}
		if _, err := cl.Send(ctx, edge, strings.Repeat("y", parley.MaxTextBytes)); err != nil {
			t.Errorf("a message of MaxTextBytes to a %d-character room: %v", parley.MaxRoomName, err)
		}
		unchanged(t)
	})

	t.Run("wrong_password", func(t *testing.T) {
		user := uniq("pw")
		c.Dial(t, user) // claims the name with the right password
		ctx, cancel := opContext()
		defer cancel()
		_, err := client.Dial(ctx, client.Options{
			Servers: c.Addrs(), User: user, Password: "not-" + password,
			KnownClustersPath: c.knownClustersPath(user),
		})
		var te *transport.Error
		if !errors.As(err, &te) || te.Code != transport.CodeUnauthorized {
			t.Errorf("SDK login with a wrong password: %v; want a *transport.Error with code unauthorized", err)
		}
		env := c.cli(t, user)
		env.password = "not-" + password
		for _, args := range [][]string{{"status"}, {"send", "--room", base, "sneaky"}} {
			r := env.run(t, "", args...)
			if r.code != 1 || !strings.Contains(r.stderr, "unauthorized") || !strings.Contains(r.stderr, "wrong password") {
				t.Errorf("parley %s with a wrong password: exit %d, stderr %q; want exit 1 saying unauthorized: wrong password", args[0], r.code, r.stderr)
			}
		}
		unchanged(t)
	})

	t.Run("wrong_join_secret", func(t *testing.T) {
		secret, fp, _ := strings.Cut(c.Token, ".")
		code, log := c.tryJoin(t, uniq("joinsecret"), strings.Repeat("a", len(secret))+"."+fp)
		if code == 0 || !strings.Contains(log, "unauthorized") {
			t.Errorf("joining with a wrong secret: exit %d; want non-zero and an error saying unauthorized; log:\n%s", code, log)
		}
		unchanged(t)
	})

	t.Run("wrong_join_fingerprint", func(t *testing.T) {
		secret, fp, _ := strings.Cut(c.Token, ".")
		wrong := flipHex(fp)
		code, log := c.tryJoin(t, uniq("joinfp"), secret+"."+wrong)
		if code == 0 || !strings.Contains(log, transport.ErrUnknownCA.Error()) {
			t.Errorf("joining with a wrong CA fingerprint: exit %d; want non-zero and %q; log:\n%s", code, transport.ErrUnknownCA, log)
		}
		unchanged(t)
	})

	t.Run("unknown_ca", func(t *testing.T) {
		other := writeOtherCA(t)
		fake := fakeKnownClusters(c.Addrs())

		// SDK: a known_clusters file that pins another CA for the address.
		kc := c.knownClustersPath("pinned")
		if err := os.MkdirAll(filepath.Dir(kc), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(kc, fake, 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := opContext()
		defer cancel()
		_, err := client.Dial(ctx, client.Options{Servers: c.Addrs(), User: "pinned", Password: password, KnownClustersPath: kc})
		if !errors.Is(err, transport.ErrCAChanged) {
			t.Errorf("SDK dial with another CA pinned: %v; want ErrCAChanged", err)
		}
		if got, _ := os.ReadFile(kc); !bytes.Equal(got, fake) {
			t.Errorf("known_clusters was rewritten after a refused CA:\n%s", got)
		}
		// SDK: an explicit CA file with another CA.
		_, err = client.Dial(ctx, client.Options{Servers: c.Addrs(), User: "pinned", Password: password, CAFile: other})
		if !errors.Is(err, transport.ErrUnknownCA) {
			t.Errorf("SDK dial with --ca of another CA: %v; want ErrUnknownCA", err)
		}

		// CLI: --ca with another CA, and a known_clusters with other pins.
		env := c.cli(t, "pinnedcli")
		r := env.run(t, "", "status", "--ca", other)
		if r.code != 1 || !strings.Contains(r.stderr, transport.ErrUnknownCA.Error()) {
			t.Errorf("parley status --ca <another CA>: exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr, transport.ErrUnknownCA)
		}
		if err := os.MkdirAll(filepath.Dir(env.knownClustersPath()), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(env.knownClustersPath(), fake, 0o600); err != nil {
			t.Fatal(err)
		}
		r = env.run(t, "", "send", "--room", base, "through a changed CA")
		if r.code != 1 || !strings.Contains(r.stderr, "has changed") {
			t.Errorf("parley send with another CA pinned: exit %d, stderr %q; want exit 1 saying the CA has changed", r.code, r.stderr)
		}
		// The cluster's own CA is accepted: the refusals above are about
		// the CA, nothing else.
		env.mustRun(t, "", "status", "--ca", chatcore.NodeTLS(c.Nodes[0].Data).CA)
		unchanged(t)
	})
}

// oversizedFrame returns a frame header announcing 2 MiB, twice the
// limit, followed by a few bytes.
func oversizedFrame() []byte {
	return append(binary.AppendUvarint(nil, 2<<20), bytes.Repeat([]byte("x"), 4096)...)
}

// expectCode checks that the node answered with an error of code want.
func expectCode(t testing.TB, what string, e *transport.Error, want transport.Code) {
	t.Helper()
	switch {
	case e == nil:
		t.Errorf("%s: the node answered without an error; want %s", what, want)
	case e.Code != want:
		t.Errorf("%s: the node answered %q; want code %s", what, e, want)
	case e.Message == "":
		t.Errorf("%s: error %s without a message", what, e.Code)
	default:
		t.Logf("%s: %v", what, e)
	}
}

// expectErrCode checks that err carries a wire error of code want.
func expectErrCode(t testing.TB, what string, err error, want transport.Code) {
	t.Helper()
	if got := errCode(err); got != want {
		t.Errorf("%s: %v; want a *transport.Error with code %s", what, err, want)
		return
	}
	t.Logf("%s: %v", what, err)
}

// tryJoin starts a new parleyd that joins the cluster through n1 with
// token, waits for it to exit, and returns its exit code and log.
func (c *Cluster) tryJoin(t *testing.T, name, token string) (int, string) {
	t.Helper()
	n, err := c.Config.NewNode(name, "--join", c.Nodes[0].Client, "--token", token)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	p := n.Proc()
	t.Cleanup(func() { p.Kill() })
	if err := p.Wait(startTimeout); err != nil {
		t.Fatalf("a node joining with a bad token: %v\n%s", err, proc.Tail(n.Log, logTail))
	}
	code := p.ExitCode()
	log := proc.Tail(n.Log, 20)
	t.Logf("%s exited %d:\n%s", name, code, log)
	return code, log
}

// writeOtherCA writes the certificate of a fresh CA, not the cluster's, to
// a file and returns its path.
func writeOtherCA(t testing.TB) string {
	t.Helper()
	certPEM, _, err := pki.NewCA("not-this-cluster")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "otherca.pem")
	if err := os.WriteFile(path, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeKnownClusters returns a known_clusters file that pins a made-up CA
// fingerprint for every address.
func fakeKnownClusters(addrs []string) []byte {
	var b bytes.Buffer
	for _, a := range addrs {
		b.WriteString(a + " " + strings.Repeat("ab", 32) + "\n")
	}
	return b.Bytes()
}

// flipHex changes the first hex digit of s.
func flipHex(s string) string {
	if s == "" {
		return s
	}
	c := byte('0')
	if s[0] == '0' {
		c = '1'
	}
	return string(c) + s[1:]
}

// quote shows a room name in a subtest's message.
func quote(s string) string { return "\"" + strings.ToValidUTF8(s, "?") + "\"" }
