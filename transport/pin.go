package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/parleychat/parley/internal/atomicfile"
	"github.com/parleychat/parley/pki"
)

// Errors of CA pinning.
var (
	// ErrCAChanged means the server at an address presents a cluster CA other
	// than the one recorded for that address in known_clusters.
	ErrCAChanged = errors.New("the cluster CA for this address has changed: " +
		"if the cluster was re-created on purpose, remove the address's line from known_clusters " +
		"or pass --ca FILE; otherwise someone may be impersonating the cluster")
	// ErrUnknownCA means the server's certificate chain does not end in the
	// CA the caller expects (--ca FILE or a join token's fingerprint).
	ErrUnknownCA = errors.New("the server's certificate does not match the expected cluster CA")
)

// KnownClusters is the known_clusters file: the cluster CA fingerprint a
// client has pinned for each server address, one "<addr> <fingerprint>" per
// line, with '#' starting a comment. It is safe for concurrent use. Writes
// replace the file atomically (temporary file and rename); two processes
// adding different addresses at the same instant may lose one of the lines,
// which only means that address is accepted anew next time.
type KnownClusters struct {
	path string

	mu  sync.Mutex
	fps map[string]string // addr → CA fingerprint
}

// DefaultKnownClustersPath returns the user's known_clusters path:
// <user config dir>/parley/known_clusters.
func DefaultKnownClustersPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("known clusters: %w", err)
	}
	return filepath.Join(dir, "parley", "known_clusters"), nil
}

// OpenKnownClusters reads the file at path. A missing file is an empty list;
// a malformed line is an error naming the line.
func OpenKnownClusters(path string) (*KnownClusters, error) {
	fps, _, err := readKnownClusters(path)
	if err != nil {
		return nil, err
	}
	return &KnownClusters{path: path, fps: fps}, nil
}

// Lookup returns the fingerprint pinned for addr.
func (k *KnownClusters) Lookup(addr string) (fingerprint string, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	fingerprint, ok = k.fps[addr]
	return fingerprint, ok
}

// Add pins fingerprint for addr and saves the file (mode 0600, its directory
// created with mode 0700). It does nothing if addr already has this
// fingerprint and returns an error wrapping ErrCAChanged, leaving the file
// untouched, if addr has another one. The file is re-read first, so a line
// the user removed by hand is not resurrected and lines other processes
// added are kept.
func (k *KnownClusters) Add(addr, fingerprint string) error {
	fingerprint = strings.ToLower(fingerprint)
	if err := checkKnownEntry(addr, fingerprint); err != nil {
		return fmt.Errorf("known clusters: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fps[addr] == fingerprint {
		return nil
	}
	fps, data, err := readKnownClusters(k.path)
	if err != nil {
		return err
	}
	k.fps = fps
	if old, ok := fps[addr]; ok {
		if old == fingerprint {
			return nil
		}
		return fmt.Errorf("known clusters: %s presents CA %s but %s pins %s: %w",
			addr, fingerprint, k.path, old, ErrCAChanged)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	data = append(data, addr+" "+fingerprint+"\n"...)
	if err := atomicfile.Write(k.path, data, 0o600); err != nil {
		return fmt.Errorf("known clusters: %w", err)
	}
	k.fps[addr] = fingerprint
	return nil
}

// readKnownClusters parses the file at path and also returns its bytes.
func readKnownClusters(path string) (map[string]string, []byte, error) {
	fps := make(map[string]string)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fps, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("known clusters: %w", err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, nil, fmt.Errorf("known clusters: %s:%d: want \"<addr> <fingerprint>\"", path, i+1)
		}
		addr, fp := f[0], strings.ToLower(f[1])
		if err := checkKnownEntry(addr, fp); err != nil {
			return nil, nil, fmt.Errorf("known clusters: %s:%d: %w", path, i+1, err)
		}
		if _, dup := fps[addr]; !dup {
			fps[addr] = fp
		}
	}
	return fps, data, nil
}

func checkKnownEntry(addr, fp string) error {
	if addr == "" || strings.ContainsAny(addr, " \t\r\n#") {
		return fmt.Errorf("bad address %q", addr)
	}
	if len(fp) != 64 || !isHex(fp) {
		return fmt.Errorf("bad fingerprint %q: want 64 hex characters", fp)
	}
	return nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ClientTLSConfig returns the TLS 1.3 configuration of a user client dialing
// addr. The server must present [leaf, ..., CA] where the CA is self-signed
// and the leaf is valid for server authentication under it; host names are
// not checked. Then the CA must be:
//
//   - pinnedCA, when it is not nil (--ca FILE), else the handshake fails
//     with an error wrapping ErrUnknownCA;
//   - otherwise the CA recorded for addr in known, else the handshake fails
//     with an error wrapping ErrCAChanged;
//   - otherwise it is accepted and recorded for addr in known (accept-new);
//     failing to save known_clusters fails the handshake.
//
// With both pinnedCA and known nil any self-consistent chain is accepted.
// The error surfaces from Dial, where errors.Is finds the sentinel. After
// the handshake PeerCA tells which CA the server presented.
func ClientTLSConfig(addr string, pinnedCA *x509.Certificate, known *KnownClusters) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{ALPN},
		// The chain is checked in VerifyConnection, without host names.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			ca, err := presentedCA(cs.PeerCertificates)
			if err != nil {
				if pinnedCA != nil {
					return fmt.Errorf("pinned ca: %w: %w", ErrUnknownCA, err)
				}
				return err
			}
			fp := pki.Fingerprint(ca.Raw)
			switch {
			case pinnedCA != nil:
				if !ca.Equal(pinnedCA) {
					return fmt.Errorf("pinned ca: %s presents CA %s, --ca is %s: %w",
						addr, fp, pki.Fingerprint(pinnedCA.Raw), ErrUnknownCA)
				}
			case known != nil:
				return known.Add(addr, fp)
			}
			return nil
		},
	}
}

// PeerCA returns the CA certificate the server presented (the last of its
// chain), or nil if it presented none.
func PeerCA(cs tls.ConnectionState) *x509.Certificate {
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	return cs.PeerCertificates[len(cs.PeerCertificates)-1]
}

// minFingerprintPrefix is the shortest CA fingerprint prefix
// FingerprintTLSConfig accepts: 128 bits.
const minFingerprintPrefix = 32

// FingerprintTLSConfig returns the TLS 1.3 configuration of a node joining
// with a token: it accepts only a server whose presented CA has a SHA-256
// fingerprint starting with caFingerprint (hex, at least 32 characters;
// case and ':' separators are ignored) and whose leaf verifies against that
// CA. A mismatch fails the handshake with an error wrapping ErrUnknownCA; a
// too short or non-hex caFingerprint fails every handshake.
func FingerprintTLSConfig(caFingerprint string) *tls.Config {
	want := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(caFingerprint), ":", ""))
	var bad error
	if len(want) < minFingerprintPrefix || len(want) > 64 || !isHex(want) {
		bad = fmt.Errorf("ca fingerprint %q: want %d to 64 hex characters", caFingerprint, minFingerprintPrefix)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{ALPN},
		// The chain is checked in VerifyConnection, without host names.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if bad != nil {
				return bad
			}
			ca, err := presentedCA(cs.PeerCertificates)
			if err != nil {
				return fmt.Errorf("ca fingerprint: %w: %w", ErrUnknownCA, err)
			}
			if fp := pki.Fingerprint(ca.Raw); !strings.HasPrefix(fp, want) {
				return fmt.Errorf("ca fingerprint: server presents %s, want %s: %w", fp, want, ErrUnknownCA)
			}
			return nil
		},
	}
}
