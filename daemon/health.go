package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// healthTimeout bounds each check of /healthz and /readyz.
const healthTimeout = 2 * time.Second

// handleHealth serves the node's health endpoints:
//
//   - /livez is 200 while the process runs with its node open;
//   - /healthz is 200 only when the node can serve: a linearizable read of
//     the registry succeeds (its quorum is reachable) and the data
//     directory takes a synced write;
//   - /readyz is 200 when it is healthy and, since it started, has caught
//     up: every shard it hosts has applied what was committed.
//
// A 200 carries the node's id, cluster, client address and process id (by
// which a starter checks that the node it started answers, not an older
// process on the same port) as JSON; a 503 carries one line saying why.
func (s *Server) handleHealth(mux *http.ServeMux) {
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) {
		s.writeHealthy(w)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.checkHealth(r.Context()); err != nil {
			unhealthy(w, err)
			return
		}
		s.writeHealthy(w)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.checkReady(r.Context()); err != nil {
			unhealthy(w, err)
			return
		}
		s.writeHealthy(w)
	})
}

func (s *Server) writeHealthy(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"status":  "ok",
		"node":    s.node.ID(),
		"cluster": s.node.ClusterID(),
		"clients": s.clientAddr,
		"pid":     os.Getpid(),
	})
}

func unhealthy(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintln(w, err)
}

// checkHealth says why the node cannot serve, or nil.
func (s *Server) checkHealth(ctx context.Context) error {
	if p := s.disk.trouble(); p != "" {
		return errors.New(p) // the disk guard refuses writes (diskguard.go)
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	if err := s.node.CheckRegistry(ctx); err != nil {
		return fmt.Errorf("no registry quorum: %w", err)
	}
	if err := checkWritable(s.cfg.DataDir); err != nil {
		return fmt.Errorf("disk not writable: %w", err)
	}
	return nil
}

// checkReady says why the node is not ready, or nil. Once it has caught up
// after its start it stays caught up: later it is ready whenever healthy.
func (s *Server) checkReady(ctx context.Context) error {
	if err := s.checkHealth(ctx); err != nil {
		return err
	}
	if s.caughtUp.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	if err := s.node.CatchUp(ctx); err != nil {
		return fmt.Errorf("catching up: %w", err)
	}
	s.caughtUp.Store(true)
	return nil
}

// checkWritable writes, syncs and removes a small file in dir.
func checkWritable(dir string) error {
	path := filepath.Join(dir, ".health-check")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write([]byte("ok\n"))
	serr := f.Sync()
	cerr := f.Close()
	rerr := os.Remove(path)
	return errors.Join(werr, serr, cerr, rerr)
}
