package transport

import (
	"testing"

	"github.com/parleychat/parley"
)

// accountTargets are the bodies of account administration a node decodes
// from a client (or a client from a node): OpAccount, OpAdmin, the hello.
var accountTargets = []func() any{
	func() any { return new(AccountRequest) },
	func() any { return new(AccountResponse) },
	func() any { return new(AdminRequest) },
	func() any { return new(AdminResponse) },
	func() any { return new(Hello) },
}

// FuzzAccountBodies decodes arbitrary bytes as every account body:
// decoding never panics, and what decodes survives a round trip.
func FuzzAccountBodies(f *testing.F) {
	for _, v := range []any{
		AccountRequest{Action: AccountPasswd, OldPassword: "old", NewPassword: "new"},
		AccountResponse{Message: "ok", Token: "abc.def"},
		AdminRequest{Action: AdminToken, Args: []string{"new", "1", "24h"}},
		AdminResponse{Message: "2 join token(s)", Secret: "s", Tokens: []JoinTokenInfo{{ID: "bootstrap", Uses: -1}, {ID: "0a1b2c3d4e5f", Uses: 1, Expires: 1, By: "root", Created: 1}}},
		Hello{Version: ProtocolVersion, User: "ada", Password: "pw", Invite: "code"},
	} {
		b, err := parley.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range accountTargets {
			checkDecode(t, body, target)
		}
	})
}
