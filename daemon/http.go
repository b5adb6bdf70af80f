package daemon

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/parleychat/parley/transport"
	"github.com/parleychat/parley/web"
)

// sessionCookie holds a browser's session token for its node's origin.
const sessionCookie = "parley_session"

// contentSecurityPolicy allows the page only its own scripts and styles,
// no inline script and no eval; connections go to this and the other
// nodes' WebSockets (checked again by the WebSocket's origin check).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self' ws: wss:; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// httpHandler serves the health endpoints /livez, /healthz and /readyz
// (health.go), /metrics (metrics.go), the web client at /, its WebSocket at
// /ws and its login at /api/login.
func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	s.handleHealth(mux)
	mux.Handle("GET /metrics", s.metricsHandler())
	mux.HandleFunc("GET /ws", s.serveWebSocket)
	mux.HandleFunc("POST /api/login", s.serveLogin)
	mux.HandleFunc("POST /api/logout", s.serveLogout)
	mux.Handle("GET /", web.Handler())
	return securityHeaders(mux)
}

// securityHeaders adds the headers every answer carries.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

// loginRequest is what the page posts to /api/login.
type loginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
	// Invite is the invite code of a sign-up while sign-up is by invite.
	Invite string `json:"invite,omitempty"`
}

// loginResponse answers a login: the user and a session token the page
// keeps in memory, to present to another node after a failover (the
// HttpOnly cookie belongs to this node's origin only).
type loginResponse struct {
	User  string `json:"user"`
	Token string `json:"token"`
}

// serveLogin checks a user's password (the first login of a name claims
// it) and sets the session cookie.
func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	if !s.allowedOrigin(r) {
		httpError(w, transport.Errorf(transport.CodeForbidden, "origin not of this cluster"), http.StatusForbidden)
		return
	}
	var req loginRequest
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		httpError(w, transport.Errorf(transport.CodeInvalid, "login: %v", err), http.StatusBadRequest)
		return
	}
	h := transport.Hello{Version: transport.ProtocolVersion, User: req.User, Password: req.Password, Invite: req.Invite}
	if err := s.login(r.Context(), h, r.RemoteAddr); err != nil {
		e := wireError(err)
		status := http.StatusUnauthorized
		if e.Code == transport.CodeUnavailable {
			status = http.StatusServiceUnavailable
		} else if e.Code == transport.CodeInvalid {
			status = http.StatusBadRequest
		} else if e.Code == transport.CodeForbidden {
			status = http.StatusForbidden
		} else if e.Code == transport.CodeRateLimited {
			status = http.StatusTooManyRequests
		}
		httpError(w, e, status)
		return
	}
	tok, err := s.node.IssueSessionToken(req.User)
	if err != nil {
		httpError(w, wireError(err), http.StatusServiceUnavailable)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(loginResponse{User: req.User, Token: tok})
}

// serveLogout clears the session cookie.
func (s *Server) serveLogout(w http.ResponseWriter, r *http.Request) {
	if !s.allowedOrigin(r) {
		httpError(w, transport.Errorf(transport.CodeForbidden, "origin not of this cluster"), http.StatusForbidden)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

func httpError(w http.ResponseWriter, e *transport.Error, status int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": e})
}

// allowedOrigin accepts a request with no Origin (not from a browser), from
// this node's own origin, or from the web address of any node of the
// cluster: a page served by one node fails over to the others.
func (s *Server) allowedOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, n := range s.nodeInfos() {
		for _, a := range []string{n.HTTP, n.HTTPS} {
			if a != "" && strings.EqualFold(u.Host, a) {
				return true
			}
		}
	}
	return false
}
