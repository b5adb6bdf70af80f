package daemon

import (
	"net/http"
)

// httpHandler serves the health endpoints (health.go) and /metrics
// (metrics.go).
func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metricsHandler())
	s.handleHealth(mux)
	return mux
}
