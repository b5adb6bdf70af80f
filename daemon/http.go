package daemon

import (
	"encoding/json"
	"net/http"
)

// httpHandler serves /healthz: 200 with the node's id and cluster while the
// node runs.
func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"status":  "ok",
			"node":    s.node.ID(),
			"cluster": s.node.ClusterID(),
			"clients": s.clientAddr,
		})
	})
	return mux
}
