package cluster

import (
	"context"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
)

// ImageExists reports whether the Docker engine has image name locally. An
// engine that does not answer is ErrDockerUnavailable.
func ImageExists(ctx context.Context, name string) (bool, error) {
	cli, err := newDockerClient()
	if err != nil {
		return false, err
	}
	defer cli.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		return false, fmt.Errorf("%w at %s: start dockerd or use --backend local", ErrDockerUnavailable, cli.DaemonHost())
	}
	if _, err := cli.ImageInspect(ctx, name); err != nil {
		if cerrdefs.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("inspect image %s: %w", name, err)
	}
	return true, nil
}
