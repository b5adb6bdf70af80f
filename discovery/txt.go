package discovery

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBadTXT means an announcement's TXT records are not a Parley node's.
var ErrBadTXT = errors.New("not a Parley announcement")

// TXT record keys of an announcement.
const (
	keyCluster = "cluster" // cluster id
	keyCA      = "ca"      // SHA-256 fingerprint of the cluster CA, 64 hex digits
	keyNode    = "node"    // node id
	keyName    = "name"    // node name
	keyHTTP    = "http"    // HTTP port, 0 for none
	keyVersion = "version" // the node's build version
)

// maxTXTValue bounds one TXT value; a DNS character-string holds 255 bytes.
const maxTXTValue = 255

// Record is what a node announces about itself beyond its address.
type Record struct {
	// ClusterID is the cluster's id.
	ClusterID string
	// CA is the fingerprint of the cluster CA (pki.Fingerprint), which is
	// what a client pins in known_clusters.
	CA string
	// NodeID is the node's id in the cluster.
	NodeID uint64
	// Name is the node's name.
	Name string
	// HTTPPort is the port of the node's web client and health checks, 0
	// if it serves none.
	HTTPPort int
	// Version is the node's build version (internal/buildinfo).
	Version string
}

// TXT returns the record as DNS-SD TXT strings, "key=value" each.
func (r Record) TXT() []string {
	return []string{
		keyCluster + "=" + r.ClusterID,
		keyCA + "=" + r.CA,
		keyNode + "=" + strconv.FormatUint(r.NodeID, 10),
		keyName + "=" + r.Name,
		keyHTTP + "=" + strconv.Itoa(r.HTTPPort),
		keyVersion + "=" + r.Version,
	}
}

// ParseTXT parses an announcement's TXT strings. Unknown keys are ignored
// (a later version may add some); a missing or malformed required key, a
// repeated key or an over-long value is an error wrapping ErrBadTXT.
func ParseTXT(txt []string) (Record, error) {
	var r Record
	seen := make(map[string]bool, len(txt))
	for _, kv := range txt {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue // a boolean attribute (RFC 6763 6.4): none of ours
		}
		k = strings.ToLower(k)
		switch k {
		case keyCluster, keyCA, keyNode, keyName, keyHTTP, keyVersion:
		default:
			continue
		}
		if seen[k] {
			return Record{}, fmt.Errorf("txt: key %q repeated: %w", k, ErrBadTXT)
		}
		seen[k] = true
		if len(v) > maxTXTValue || !printable(v) {
			return Record{}, fmt.Errorf("txt: bad %s value %q: %w", k, v, ErrBadTXT)
		}
		var err error
		switch k {
		case keyCluster:
			r.ClusterID = v
		case keyCA:
			r.CA = strings.ToLower(v)
			if len(r.CA) != 64 || strings.Trim(r.CA, "0123456789abcdef") != "" {
				err = errors.New("want 64 hex digits")
			}
		case keyNode:
			r.NodeID, err = strconv.ParseUint(v, 10, 64)
			if err == nil && r.NodeID == 0 {
				err = errors.New("node id 0")
			}
		case keyName:
			r.Name = v
		case keyHTTP:
			var p uint64
			p, err = strconv.ParseUint(v, 10, 16)
			r.HTTPPort = int(p)
		case keyVersion:
			r.Version = v
		}
		if err != nil {
			return Record{}, fmt.Errorf("txt: %s: %v: %w", k, err, ErrBadTXT)
		}
	}
	for _, k := range []string{keyCluster, keyCA, keyNode, keyName} {
		if !seen[k] {
			return Record{}, fmt.Errorf("txt: no %s: %w", k, ErrBadTXT)
		}
	}
	if r.ClusterID == "" || r.Name == "" {
		return Record{}, fmt.Errorf("txt: empty cluster or name: %w", ErrBadTXT)
	}
	return r, nil
}

// printable reports whether s is printable ASCII without spaces' cousins:
// values end up in messages and files.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
