package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/parleychat/parley/discovery"
	"github.com/parleychat/parley/pki"
)

// joinBrowse bounds the search for the cluster of "--join auto".
const joinBrowse = 3 * time.Second

// findJoin finds by mDNS a node of the cluster whose CA the join token
// names by a fingerprint prefix (--join auto) and returns its client address.
func findJoin(token string) (string, error) {
	fp, err := pki.TokenFingerprint(token)
	if err != nil {
		return "", usageError{fmt.Errorf("--token: %w", err)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*joinBrowse)
	defer cancel()
	nodes, err := discovery.Browse(ctx, joinBrowse)
	if err != nil {
		return "", fmt.Errorf("--join auto: %w", err)
	}
	var mine []discovery.Node
	for _, n := range nodes {
		if strings.HasPrefix(n.CA, strings.ToLower(fp)) {
			mine = append(mine, n)
		}
	}
	_, addrs, err := discovery.Choose(mine, nil)
	if err != nil {
		return "", fmt.Errorf("--join auto: no node of the token's cluster (CA %s) answered mDNS (%d other nodes did): %w", fp, len(nodes), err)
	}
	return addrs[0], nil
}
