package daemon

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// serveHTTPS serves the web endpoints (the client, its WebSocket and
// login, /healthz) over TLS on ln, with the node's certificate: a browser
// that trusts the cluster CA ("parley ca") gets a secure context, where
// the page may show system notifications, and its cookie is Secure.
func (s *Server) serveHTTPS(ln net.Listener) error {
	cert, err := tls.X509KeyPair(s.nodeTLS.cert, s.nodeTLS.key)
	if err != nil {
		ln.Close()
		return fmt.Errorf("https: %w", err)
	}
	s.httpsAddr = ln.Addr().String()
	s.httpsSrv = &http.Server{
		Handler:           s.httpHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.httpsSrv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("https", "err", err)
		}
	}()
	return nil
}
