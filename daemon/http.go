package daemon

import (
	"encoding/json"
	"net/http"
	"os"
)

// httpHandler serves /healthz: 200 with the node's id and cluster while the
// node runs, and the process id, by which a starter checks that the node
// it started answers and not an older process on the same port.
func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"status":  "ok",
			"node":    s.node.ID(),
			"cluster": s.node.ClusterID(),
			"clients": s.clientAddr,
			"pid":     os.Getpid(),
		})
	})
	return mux
}
