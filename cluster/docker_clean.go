package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// RemoveAll implements Backend: os.RemoveAll, and when the host user may
// not delete files a container wrote (the seed's `sudo rm -rf`), a
// short-lived root container that mounts the parent directory does it.
func (d *Docker) RemoveAll(ctx context.Context, hostPath string) error {
	err := os.RemoveAll(hostPath)
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("remove %s: %w", hostPath, err)
	}
	if rerr := d.removeInContainer(ctx, hostPath); rerr != nil {
		return fmt.Errorf("%w (after %v)", rerr, err)
	}
	return nil
}

// removeInContainer runs rm -rf as root in a short-lived container that
// mounts hostPath's parent directory.
func (d *Docker) removeInContainer(ctx context.Context, hostPath string) error {
	parent, base := filepath.Split(filepath.Clean(hostPath))
	if !filepath.IsAbs(hostPath) || base == "" || base == "." || base == ".." {
		return fmt.Errorf("remove %s: not an absolute path with a name", hostPath)
	}
	const mnt = "/walstep-parent"
	err := d.runTask(ctx, task{image: d.image, node: "cleanup", user: "root",
		argv:  []string{"rm", "-rf", "--", mnt + "/" + base},
		binds: []string{filepath.Clean(parent) + ":" + mnt}, out: io.Discard})
	if err != nil {
		return fmt.Errorf("remove %s through a root container: %w", hostPath, err)
	}
	if _, err := os.Lstat(hostPath); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: still there after rm -rf in a container", hostPath)
	}
	return nil
}

// Shell implements Backend: the seed's `docker exec -it <container>
// /bin/bash`, with the PG* variables set so psql reaches the server.
func (d *Docker) Shell(node Node) ([]string, string) {
	// As root, as the seed's `docker exec -it primary /bin/bash` is (the
	// containers themselves run as postgres).
	argv := []string{"docker", "exec", "-it", "-u", "root"}
	for _, e := range d.env() {
		argv = append(argv, "-e", e)
	}
	return append(argv, d.ContainerName(node), "/bin/bash"), ""
}

// ShellInContainer implements ContainerShell: the shell is a docker exec
// into the server's container.
func (d *Docker) ShellInContainer() bool { return true }

// Close implements Backend. With stopServers it stops and removes the
// lab's containers (keeping their logs) and network; it always releases
// the client. Closing twice is harmless.
func (d *Docker) Close(ctx context.Context, stopServers bool) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	var errs []error
	if stopServers {
		for _, n := range d.lab.Topology().StopOrder() {
			if err := d.stop(ctx, n, io.Discard, d.notes); err != nil {
				errs = append(errs, err)
			}
		}
		// Leftover tasks (a crash mid-step) and the network.
		if err := removeLabelled(ctx, d.cli, d.lab, d.stopTO); err != nil {
			errs = append(errs, err)
		}
	}
	if err := d.cli.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close docker client: %w", err))
	}
	return errors.Join(errs...)
}

// Clean removes the containers (stopping them first) and networks that
// carry lab's label, whatever prefix they were named with (a lab's
// containers are its own, and any of them may run on its data dirs);
// nothing else is touched. It fails while one of them is still there, so
// the caller can leave the data dirs alone. Used by `walstep clean`. When
// the engine does not answer the error wraps ErrDockerUnavailable.
func Clean(ctx context.Context, lab *Lab) error {
	if lab == nil || lab.Dir == "" {
		return errors.New("clean docker resources: no lab")
	}
	cli, err := newDockerClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, perr := cli.Ping(pctx)
	cancel()
	if perr != nil {
		return fmt.Errorf("%w at %s", ErrDockerUnavailable, cli.DaemonHost())
	}
	if err := removeLabelled(ctx, cli, lab, 30*time.Second); err != nil {
		return err
	}
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelLab+"="+lab.Dir))})
	if err != nil {
		return fmt.Errorf("list walstep containers: %w", err)
	}
	for _, c := range cs {
		if c.Labels[LabelLab] == lab.Dir {
			return fmt.Errorf("container %s of this lab is still there (%s)", strings.TrimPrefix(strings.Join(c.Names, ","), "/"), c.State)
		}
	}
	return nil
}

// removeLabelled stops and removes the lab's containers, then its networks.
func removeLabelled(ctx context.Context, cli *client.Client, lab *Lab, stopTO time.Duration) error {
	f := filters.NewArgs(filters.Arg("label", LabelLab+"="+lab.Dir))
	var errs []error
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("list walstep containers: %w", err)
	}
	for _, c := range cs {
		if c.Labels[LabelLab] != lab.Dir { // belt and braces over the filter
			continue
		}
		if c.State == "running" {
			name := Node(strings.TrimPrefix(strings.Join(c.Names, ","), "/"))
			if err := stopServerContainer(ctx, cli, name, c.ID, stopTO, io.Discard, io.Discard); err != nil && !cerrdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("stop container %s: %w", c.ID[:12], err))
			}
		}
		rctx, cancel := cleanupCtx(ctx)
		err := cli.ContainerRemove(rctx, c.ID, container.RemoveOptions{Force: true})
		cancel()
		if err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
		}
	}
	nws, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list walstep networks: %w", err))...)
	}
	for _, nw := range nws {
		if nw.Labels[LabelLab] != lab.Dir {
			continue
		}
		rctx, cancel := cleanupCtx(ctx)
		err := cli.NetworkRemove(rctx, nw.ID)
		cancel()
		if err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", nw.Name, err))
		}
	}
	return errors.Join(errs...)
}

// stop is Stop with the escalation lines written to warn as well as out.
// A server of this lab started under another --prefix runs on the same
// data dir: it is stopped too, or a reset would delete the dir under it.
func (d *Docker) stop(ctx context.Context, node Node, out, warn io.Writer) error {
	if err := d.stopOwn(ctx, node, out, warn); err != nil {
		return err
	}
	return d.stopOtherPrefixes(ctx, node, out, warn)
}

// stopOtherPrefixes stops and removes node's server containers of this lab
// that were made under a --prefix other than this session's.
func (d *Docker) stopOtherPrefixes(ctx context.Context, node Node, out, warn io.Writer) error {
	f := filters.NewArgs(filters.Arg("label", LabelLab+"="+d.lab.Dir), filters.Arg("label", LabelNode+"="+string(node)), filters.Arg("label", LabelRole+"=server"))
	cs, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("list %s containers of this lab: %w", node, d.explain(err))
	}
	var errs []error
	for _, c := range cs {
		if c.Labels[LabelLab] != d.lab.Dir || c.Labels[LabelPrefix] == d.prefix {
			continue
		}
		name := strings.TrimPrefix(strings.Join(c.Names, ","), "/")
		if c.State == "running" {
			fmt.Fprintf(out, "stopping %s (container %s, made with --prefix %s)\n", node, name, c.Labels[LabelPrefix])
			if err := stopServerContainer(ctx, d.cli, node, c.ID, d.stopTO, out, warn); err != nil && !cerrdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("stop container %s: %w", name, err))
				continue
			}
		}
		rctx, cancel := cleanupCtx(ctx)
		err := d.cli.ContainerRemove(rctx, c.ID, container.RemoveOptions{Force: true})
		cancel()
		if err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

var _ ContainerShell = (*Docker)(nil)
