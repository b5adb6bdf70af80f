package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/parleychat/parley"
)

// Certificate lifetimes. NotBefore is backdated to tolerate clock skew
// between machines.
const (
	caValidity   = 20 * 365 * 24 * time.Hour
	nodeValidity = 10 * 365 * 24 * time.Hour
	clockSkew    = time.Hour
)

// CA is the cluster certificate authority: it signs node certificates.
type CA struct {
	// Cert is the self-signed CA certificate.
	Cert *x509.Certificate
	// Key is the CA's private key.
	Key crypto.Signer
	// CertPEM is Cert in PEM form, as nodes and clients receive it.
	CertPEM []byte
}

// NewCA creates a self-signed ECDSA P-256 cluster CA valid for 20 years, with
// CommonName "parley cluster "+clusterID. It returns the certificate PEM and
// the PKCS8 private key PEM.
func NewCA(clusterID string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("new ca: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, fmt.Errorf("new ca: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "parley cluster " + clusterID},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		// Node certificates are signed directly by the CA.
		MaxPathLenZero: true,
		KeyUsage:       x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("new ca: %w", err)
	}
	keyPEM, err = encodeKeyPEM(key)
	if err != nil {
		return nil, nil, fmt.Errorf("new ca: %w", err)
	}
	return encodeCertPEM(der), keyPEM, nil
}

// LoadCA parses a CA certificate and its private key (PKCS8, or SEC1 "EC
// PRIVATE KEY") and checks that they belong together.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, errors.New("load ca: certificate is not a CA")
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, errors.New("load ca: private key does not match the certificate")
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodeCertPEM(cert.Raw)}, nil
}

// NewKey makes an ECDSA P-256 key pair. It returns the private key as PKCS8
// PEM and the public key as PKIX DER (what AdmitRequest.PublicKey carries).
func NewKey() (keyPEM, pubDER []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("new key: %w", err)
	}
	keyPEM, err = encodeKeyPEM(key)
	if err != nil {
		return nil, nil, fmt.Errorf("new key: %w", err)
	}
	pubDER, err = x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("new key: %w", err)
	}
	return keyPEM, pubDER, nil
}

// IssueNodeCert signs a certificate for the PKIX DER public key pubDER (ECDSA
// or Ed25519) with CommonName nodeName, valid for 10 years (never past the
// CA's own expiry) for both server and client authentication. Each host is an
// IP address or a DNS name (a "host:port" form is accepted and the port
// dropped); 127.0.0.1, ::1 and localhost are always included.
func (ca *CA) IssueNodeCert(pubDER []byte, nodeName string, hosts []string) (certPEM []byte, err error) {
	pub, err := x509.ParsePKIXPublicKey(pubDER)
	if err != nil {
		return nil, fmt.Errorf("issue node cert: public key: %w: %w", parley.ErrMalformed, err)
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
	case ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("issue node cert: public key: unsupported type %T: %w", k, parley.ErrMalformed)
	}
	if nodeName == "" {
		return nil, errors.New("issue node cert: empty node name")
	}
	ips, dns, err := splitHosts(hosts)
	if err != nil {
		return nil, fmt.Errorf("issue node cert: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("issue node cert: %w", err)
	}
	now := time.Now()
	notAfter := now.Add(nodeValidity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: nodeName},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:           ips,
		DNSNames:              dns,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue node cert: %w", err)
	}
	return encodeCertPEM(der), nil
}

// Fingerprint is the lowercase hex SHA-256 of a DER certificate.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// ParseCertPEM parses the first CERTIFICATE block of p, skipping blocks of
// other types.
func ParseCertPEM(p []byte) (*x509.Certificate, error) {
	for {
		var b *pem.Block
		b, p = pem.Decode(p)
		if b == nil {
			return nil, errors.New("certificate: no CERTIFICATE block in PEM")
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		return c, nil
	}
}

// splitHosts sorts hosts into IP and DNS SANs, adds the loopback names and
// drops duplicates.
func splitHosts(hosts []string) ([]net.IP, []string, error) {
	var ips []net.IP
	var dns []string
	seen := make(map[string]bool)
	for _, h := range append(hosts, "127.0.0.1", "::1", "localhost") {
		h = strings.TrimSpace(h)
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			if ip4 := ip.To4(); ip4 != nil {
				ip = ip4
			}
			if !seen[ip.String()] {
				seen[ip.String()] = true
				ips = append(ips, ip)
			}
			continue
		}
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if !validDNSName(h) {
			return nil, nil, fmt.Errorf("host %q: not an IP address or DNS name", h)
		}
		if !seen[h] {
			seen[h] = true
			dns = append(dns, h)
		}
	}
	return ips, dns, nil
}

// validDNSName accepts dot-separated labels of letters, digits, '-' and '_',
// each 1 to 63 bytes, not starting or ending with '-'.
func validDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// randomSerial returns a random, positive 128-bit serial number.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("serial: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

func encodeCertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func encodeKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// parseKeyPEM parses the first private key block: PKCS8 or SEC1.
func parseKeyPEM(p []byte) (crypto.Signer, error) {
	for {
		var b *pem.Block
		b, p = pem.Decode(p)
		if b == nil {
			return nil, errors.New("private key: no PRIVATE KEY block in PEM")
		}
		switch b.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("private key: %w", err)
			}
			s, ok := k.(crypto.Signer)
			if !ok {
				return nil, fmt.Errorf("private key: %T cannot sign", k)
			}
			return s, nil
		case "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("private key: %w", err)
			}
			return k, nil
		}
	}
}
