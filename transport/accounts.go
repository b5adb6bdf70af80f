package transport

// OpAccount changes the session's own account (AccountRequest,
// AccountResponse): its password, or its sessions.
const OpAccount = "account"

// Account actions (AccountRequest.Action).
const (
	// AccountPasswd changes the password: OldPassword must be right. Every
	// other session of the user ends; this one goes on, with the new
	// AccountResponse.Token.
	AccountPasswd = "passwd"
	// AccountLogoutEverywhere revokes every session token of the user and
	// ends every live session, this one included.
	AccountLogoutEverywhere = "logout-everywhere"
)

// Admin actions on accounts, invite codes and join tokens
// (AdminRequest.Action and Args; see also AdminSet "signup").
const (
	// AdminUser acts on an account: Args is "add", "reset-password",
	// "disable", "enable" or "revoke-sessions", then the user, then for
	// "add" and "reset-password" optionally the password (else the node
	// makes one and returns it in AdminResponse.Secret).
	AdminUser = "user"
	// AdminInvite makes an invite code: Args is "new", the number of uses
	// and the time to live (a Go duration); the code is
	// AdminResponse.Secret.
	AdminInvite = "invite"
	// AdminToken manages join tokens: Args is "new", uses and time to live
	// (the token is AdminResponse.Secret), or "list" (AdminResponse.Tokens),
	// or "revoke" and a token id ("bootstrap" for the cluster's first).
	AdminToken = "token"
)

// Sign-up policies (AdminSet "signup").
const (
	SignupOpen   = "open"
	SignupInvite = "invite"
	SignupClosed = "closed"
)

// AccountRequest asks for an AccountPasswd or AccountLogoutEverywhere.
type AccountRequest struct {
	Action      string `cbor:"1,keyasint"`
	OldPassword string `cbor:"2,keyasint,omitempty"`
	NewPassword string `cbor:"3,keyasint,omitempty"`
}

// AccountResponse says what an account action did; after AccountPasswd,
// Token is the session's new token (the old ones are revoked).
type AccountResponse struct {
	Message string `cbor:"1,keyasint"`
	Token   string `cbor:"2,keyasint,omitempty"`
}

// JoinTokenInfo describes a join token (never the token itself).
type JoinTokenInfo struct {
	// ID names it for "token revoke".
	ID string `cbor:"1,keyasint"`
	// Uses is how many more nodes it may admit; -1 for no limit (the
	// bootstrap token).
	Uses int `cbor:"2,keyasint"`
	// Expires is when it stops working (Unix ns); 0 for never.
	Expires int64  `cbor:"3,keyasint,omitempty"`
	By      string `cbor:"4,keyasint,omitempty"`
	Created int64  `cbor:"5,keyasint,omitempty"`
}
