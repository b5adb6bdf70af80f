package discovery

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/parleychat/parley/internal/atomicfile"
)

// KnownNodesFile is the name of the file, next to known_clusters, where a
// client remembers the node addresses it learned per cluster: one line
// "<CA fingerprint> <addr> <addr>…" per cluster, '#' starting a comment.
const KnownNodesFile = "known_nodes"

// maxKnownNodes bounds the addresses remembered per cluster.
const maxKnownNodes = 32

// LoadKnownNodes reads the file at path: a map from CA fingerprint to
// addresses. A missing file is empty; a malformed line is an error naming
// the line.
func LoadKnownNodes(path string) (map[string][]string, error) {
	known := make(map[string][]string)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return known, nil
	}
	if err != nil {
		return nil, fmt.Errorf("known nodes: %w", err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		fp := strings.ToLower(f[0])
		if len(f) < 2 || len(fp) != 64 || strings.Trim(fp, "0123456789abcdef") != "" {
			return nil, fmt.Errorf("known nodes: %s:%d: want \"<CA fingerprint> <addr>…\"", path, i+1)
		}
		known[fp] = f[1:]
	}
	return known, nil
}

// RememberNodes records addrs as the nodes of the cluster with CA
// fingerprint ca in the file at path (mode 0600), replacing that cluster's
// line and keeping the others. It does nothing when the line is already so.
func RememberNodes(path, ca string, addrs []string) error {
	known, err := LoadKnownNodes(path)
	if err != nil {
		return err
	}
	var clean []string
	for _, a := range addrs {
		if a != "" && !strings.ContainsAny(a, " \t\r\n#") {
			clean = append(clean, a)
		}
	}
	sort.Strings(clean)
	if len(clean) > maxKnownNodes {
		clean = clean[:maxKnownNodes]
	}
	if len(clean) == 0 || strings.Join(known[ca], " ") == strings.Join(clean, " ") {
		return nil
	}
	known[ca] = clean
	cas := make([]string, 0, len(known))
	for c := range known {
		cas = append(cas, c)
	}
	sort.Strings(cas)
	var b strings.Builder
	b.WriteString("# Parley node addresses learned per cluster (CA fingerprint), for finding it without --server.\n")
	for _, c := range cas {
		b.WriteString(c + " " + strings.Join(known[c], " ") + "\n")
	}
	if err := atomicfile.Write(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("known nodes: %w", err)
	}
	return nil
}
