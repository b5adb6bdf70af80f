package daemon

import (
	"context"

	"github.com/parleychat/parley/chatcore"
)

// JoinTokenFile is where the first node writes the join token, mode 0600.
func JoinTokenFile(dataDir string) string { return chatcore.DataLayout(dataDir).JoinToken() }

// startNode opens the node in cfg.DataDir, or bootstraps a new cluster, or
// joins the one at cfg.Join.
func startNode(ctx context.Context, cfg Config, ccfg chatcore.Config) (*chatcore.Node, error) {
	if cfg.Join != "" {
		return chatcore.Join(ctx, ccfg, remoteAdmitter{addr: cfg.Join, token: cfg.Token})
	}
	return chatcore.Start(ctx, ccfg)
}
