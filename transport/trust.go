package transport

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/parleychat/parley/pki"
)

// Trust is which cluster CA a user client accepts: one pinned CA (--ca
// FILE), or the CA pinned per address in known_clusters on first use.
type Trust struct {
	// CA, when not nil, is the only CA accepted; Known is then nil.
	CA *x509.Certificate
	// Known is the known_clusters file used when CA is nil.
	Known *KnownClusters
}

// LoadTrust reads the CA certificate in the PEM file caFile, if caFile is
// not empty; otherwise it opens the known_clusters file at knownPath
// (DefaultKnownClustersPath if empty).
func LoadTrust(caFile, knownPath string) (Trust, error) {
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return Trust{}, fmt.Errorf("ca file: %w", err)
		}
		ca, err := pki.ParseCertPEM(pem)
		if err != nil {
			return Trust{}, fmt.Errorf("ca file %s: %w", caFile, err)
		}
		return Trust{CA: ca}, nil
	}
	if knownPath == "" {
		p, err := DefaultKnownClustersPath()
		if err != nil {
			return Trust{}, err
		}
		knownPath = p
	}
	known, err := OpenKnownClusters(knownPath)
	if err != nil {
		return Trust{}, err
	}
	return Trust{Known: known}, nil
}

// TLSConfig returns the client TLS configuration for dialing addr
// (ClientTLSConfig with t's CA and known_clusters).
func (t Trust) TLSConfig(addr string) *tls.Config {
	return ClientTLSConfig(addr, t.CA, t.Known)
}

// PinNew pins ca in known_clusters for each of addrs that has no pin yet,
// so that a later dial to them is checked against the CA a node of the
// same cluster presented. It does nothing with a pinned CA (t.CA) or a nil
// ca, and returns the addresses it failed to pin with why.
func (t Trust) PinNew(addrs []string, ca *x509.Certificate) map[string]error {
	if t.Known == nil || ca == nil {
		return nil
	}
	fp := pki.Fingerprint(ca.Raw)
	var errs map[string]error
	for _, a := range addrs {
		if _, ok := t.Known.Lookup(a); ok {
			continue
		}
		if err := t.Known.Add(a, fp); err != nil {
			if errs == nil {
				errs = make(map[string]error)
			}
			errs[a] = err
		}
	}
	return errs
}
