package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"time"
)

// healthTimeout bounds /healthz's registry read.
const healthTimeout = 2 * time.Second

// httpHandler serves /healthz: 200 with the node's id and cluster while the
// node runs and reaches a quorum of the registry (a linearizable read of it
// succeeds), else 503 with the reason; both with the process id, by which a
// starter checks that the node it started answers and not an older process
// on the same port.
func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		if _, err := s.node.ClusterInfo(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]any{
				"status": "unavailable",
				"node":   s.node.ID(),
				"pid":    os.Getpid(),
				"error":  "registry quorum unreachable: " + err.Error(),
			})
			return
		}
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
