package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/parleychat/parley/discovery"
	"github.com/parleychat/parley/pki"
	"github.com/parleychat/parley/transport"
)

// browseWait is how long the client listens for mDNS answers.
const browseWait = 1500 * time.Millisecond

// discovered is the cluster found without an address.
type discovered struct {
	ca    string   // its CA fingerprint, "" if only the local default is left
	addrs []string // its nodes
}

// discover finds the cluster when no address was given: by mDNS, the one
// whose CA is pinned (--ca, or known_clusters) or the only one seen; if
// none answers, the nodes remembered for a pinned cluster; else the local
// default address. Several unknown clusters are a usage error listing them.
func discover(ctx context.Context, caFile string) (discovered, error) {
	pinned, err := pinnedCAs(caFile)
	if err != nil {
		return discovered{}, err
	}
	wait := browseWait
	if d, ok := ctx.Deadline(); ok && time.Until(d)/2 < wait {
		wait = time.Until(d) / 2
	}
	nodes, err := discovery.Browse(ctx, wait)
	if err != nil {
		// No multicast here (no interface, a sandbox): fall back below.
		nodes = nil
	}
	ca, addrs, err := discovery.Choose(nodes, pinned)
	switch {
	case err == nil:
		return discovered{ca: ca, addrs: addrs}, nil
	case errors.Is(err, discovery.ErrSeveralClusters):
		return discovered{}, usagef("%v", err)
	}
	if path, err := knownNodesPath(); err == nil {
		known, err := discovery.LoadKnownNodes(path)
		if err != nil {
			return discovered{}, err
		}
		var cas []string
		for c := range known {
			if pinned(c) {
				cas = append(cas, c)
			}
		}
		sort.Strings(cas)
		if len(cas) == 1 {
			return discovered{ca: cas[0], addrs: known[cas[0]]}, nil
		}
	}
	return discovered{addrs: []string{defaultServer}}, nil
}

// remember records the node addresses the client learned for the cluster.
func (d discovered) remember(addrs []string) error {
	if d.ca == "" {
		return nil
	}
	path, err := knownNodesPath()
	if err != nil {
		return err
	}
	return discovery.RememberNodes(path, d.ca, addrs)
}

// pinnedCAs returns whether a CA fingerprint is the one of --ca or pinned in
// known_clusters.
func pinnedCAs(caFile string) (func(string) bool, error) {
	if caFile != "" {
		p, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		cert, err := pki.ParseCertPEM(p)
		if err != nil {
			return nil, fmt.Errorf("ca: %s: %w", caFile, err)
		}
		fp := pki.Fingerprint(cert.Raw)
		return func(c string) bool { return c == fp }, nil
	}
	path, err := transport.DefaultKnownClustersPath()
	if err != nil {
		return func(string) bool { return false }, nil
	}
	known, err := transport.OpenKnownClusters(path)
	if err != nil {
		return nil, err
	}
	return known.Pins, nil
}

// knownNodesPath is the known_nodes file, next to known_clusters.
func knownNodesPath() (string, error) {
	path, err := transport.DefaultKnownClustersPath()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(path), discovery.KnownNodesFile), nil
}
