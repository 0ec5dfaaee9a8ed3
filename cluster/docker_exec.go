package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/pkg/stdcopy"
)

// Exec implements Backend: in the node's running container (docker exec),
// else in a short-lived container from the image with the node's mounts
// (the seed's `docker run --rm` at steps 6 and 7). user is "root" or
// "postgres".
func (d *Docker) Exec(ctx context.Context, node Node, user string, argv []string, out io.Writer) error {
	out = orDiscard(out)
	if len(argv) == 0 {
		return errors.New("exec: empty command")
	}
	if user != "root" && user != "postgres" {
		return fmt.Errorf("exec %s: user %q: use root or postgres", argv[0], user)
	}
	name := d.ContainerName(node)
	insp, err := d.inspectOwn(ctx, name)
	if err != nil {
		return fmt.Errorf("exec %s: %w", argv[0], err)
	}
	if insp != nil && insp.State != nil && insp.State.Running {
		fmt.Fprintf(out, "$ %s  # in %s as %s\n", shellJoin(argv), name, user)
		err := d.execIn(ctx, insp.ID, user, argv, out)
		if err != nil && ctx.Err() == nil {
			err = d.explainStopped(ctx, node, insp.ID, err)
		}
		return err
	}
	if user == "postgres" {
		// A postgres-user task writes into /data (backup-fetch, step 7),
		// which therefore must be postgres's, as initdb's chown makes it.
		if err := d.ensureDataOwner(ctx, node); err != nil {
			return fmt.Errorf("exec %s: %w", argv[0], err)
		}
	}
	binds, err := d.binds(node)
	if err != nil {
		return fmt.Errorf("exec %s: %w", argv[0], err)
	}
	return d.runTask(ctx, task{image: d.image, node: node, user: user, argv: argv, binds: binds, out: out, onNet: true})
}

// explainStopped says why a command in a running container failed when
// the container stopped under it: the postmaster is the container's main
// process (as in the seed's compose setup), so pg_ctl stop or restart in
// the container ends it, and the command with it.
func (d *Docker) explainStopped(ctx context.Context, node Node, id string, err error) error {
	insp, ierr := d.inspectOwn(ctx, d.ContainerName(node))
	var ee *execExit
	if ierr == nil && insp != nil && insp.ID == id && insp.State != nil && insp.State.Running && errors.As(err, &ee) && ee.code >= 128 {
		// A command killed with its container (pg_ctl stop ends the
		// postmaster, then init and the exec) returns while the engine
		// still reports the container running: give it a moment to say.
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		wc, ec := d.cli.ContainerWait(wctx, id, container.WaitConditionNotRunning)
		select {
		case <-wc:
		case <-ec:
		}
		cancel()
		insp, ierr = d.inspectOwn(ctx, d.ContainerName(node))
	}
	if ierr != nil || insp == nil || insp.ID != id || insp.State == nil || insp.State.Running {
		return err
	}
	return fmt.Errorf("%w: the %s's container %s stopped while it ran (exit code %d): its postgres is the container's main process, so stopping it (pg_ctl stop or restart in the container) ends the container; restart the server from the host with docker restart %s, or let a later step start it", err, node, d.ContainerName(node), insp.State.ExitCode, d.ContainerName(node))
}

// ImageHasExecutable reports whether the server image (--image) holds an
// executable file at path. It runs a short-lived container with neither
// the lab's network nor its bind mounts, so asking leaves nothing behind
// (no network to remove, no root-owned data dir made by a mount).
func (d *Docker) ImageHasExecutable(ctx context.Context, path string) bool {
	return d.runTask(ctx, task{image: d.image, node: "check", user: "root", argv: []string{"test", "-x", path}, out: io.Discard, quiet: true}) == nil
}

// execIn runs argv in a running container and streams its output.
func (d *Docker) execIn(ctx context.Context, id, user string, argv []string, out io.Writer) error {
	// The engine has no call to kill an exec'd process, nor ends what it
	// left: the command runs under a shell that records its pid and, once
	// the command has ended, ends the processes it left (see sweepScript);
	// a cancel does the same through a second exec as root (killExec).
	marker := "/tmp/.walstep-exec-" + randHex(8)
	mark := randHex(8)
	wrapped := append([]string{"sh", "-c", sweepScript + `
echo $$ > "$0"; v=$1; shift
` + markVar + `=$v "$@"; rc=$?
walstep_sweep $$ "` + markVar + `=$v"
rm -f "$0"; exit $rc`, marker, mark}, argv...)
	cr, err := d.cli.ContainerExecCreate(ctx, id, container.ExecOptions{
		User: user, Env: d.env(), Cmd: wrapped, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return fmt.Errorf("exec %s: %w", argv[0], d.explain(err))
	}
	hj, err := d.cli.ContainerExecAttach(ctx, cr.ID, container.ExecAttachOptions{})
	if err != nil {
		return fmt.Errorf("exec %s: %w", argv[0], d.explain(err))
	}
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(out, out, hj.Reader)
		copied <- err
	}()
	select {
	case err = <-copied:
		hj.Close()
	case <-ctx.Done():
		hj.Close()
		<-copied
		kctx, cancel := cleanupCtx(ctx)
		defer cancel()
		if kerr := d.killExec(kctx, id, marker, mark, cr.ID); kerr != nil {
			return fmt.Errorf("exec %s: %w (and could not stop it: %v)", argv[0], ctx.Err(), kerr)
		}
		return fmt.Errorf("exec %s: %w", argv[0], ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("exec %s: read output: %w", argv[0], err)
	}
	ei, err := d.cli.ContainerExecInspect(ctx, cr.ID)
	if err != nil {
		return fmt.Errorf("exec %s: %w", argv[0], d.explain(err))
	}
	if ei.Running {
		// The output stream closed but the process has not been reaped
		// yet; wait for its exit code (bounded).
		err := Until(ctx, 10*time.Second, argv[0]+" to exit", func(ctx context.Context) (bool, error) {
			ei, err = d.cli.ContainerExecInspect(ctx, cr.ID)
			return err == nil && !ei.Running, err
		})
		if err != nil {
			return fmt.Errorf("exec %s: %w", argv[0], err)
		}
	}
	if ei.ExitCode >= 128 {
		// The wrapper itself was killed (a hook may kill its parent)
		// before it could end what the command left: do it as root.
		kctx, cancel := cleanupCtx(ctx)
		defer cancel()
		if kerr := d.killExec(kctx, id, marker, mark, cr.ID); kerr != nil {
			return fmt.Errorf("%s exited with code %d (and what it left could not be ended: %v)", shellJoin(argv), ei.ExitCode, kerr)
		}
	}
	if ei.ExitCode != 0 {
		return &execExit{cmd: shellJoin(argv), code: ei.ExitCode}
	}
	return nil
}

// execExit is a command in a container that exited non-zero.
type execExit struct {
	cmd  string
	code int
}

func (e *execExit) Error() string { return fmt.Sprintf("%s exited with code %d", e.cmd, e.code) }

// task is one short-lived container.
type task struct {
	image string
	node  Node
	user  string
	argv  []string
	binds []string
	out   io.Writer
	show  string // command shown to the user; "" shows argv
	quiet bool   // do not echo the command (output is parsed)
	// onNet attaches the container to the lab network, so that the
	// primary's alias resolves. Only playbook commands need it; house-
	// keeping (chown, rm, pg_controldata) runs without a network, so it
	// never re-creates the network after Close or Clean removed it, nor
	// keeps it busy while they remove it.
	onNet bool
}

// runTask runs a short-lived container, streams its output and removes it,
// also when ctx is cancelled.
func (d *Docker) runTask(ctx context.Context, t task) error {
	hc := &container.HostConfig{Binds: t.binds, NetworkMode: "none"}
	var nc *network.NetworkingConfig
	if t.onNet {
		netID, _, err := d.ensureNetwork(ctx)
		if err != nil {
			return err
		}
		hc.NetworkMode = container.NetworkMode(d.NetworkName())
		nc = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{d.NetworkName(): {NetworkID: netID}}}
	}
	show := t.show
	if show == "" {
		show = shellJoin(t.argv)
	}
	if !t.quiet {
		fmt.Fprintf(t.out, "$ %s  # short-lived container from %s as %s\n", show, t.image, t.user)
	}
	if len(t.binds) > 0 {
		d.noteContainers()
	}
	name := fmt.Sprintf("%s-%s-task-%s", d.prefix, t.node, randHex(4))
	cfg := &container.Config{
		Image:  t.image,
		User:   t.user,
		Cmd:    t.argv,
		Env:    d.env(),
		Labels: d.labels(t.node, "task"),
		// The image's own entrypoint (if any) is not wanted: argv is the
		// whole command, as in the seed's `docker run ... wal-g ...`.
		// [""] is the API's way to say "no entrypoint" (an empty list
		// would be omitted and mean "the image's").
		Entrypoint: []string{""},
	}
	resp, err := d.cli.ContainerCreate(ctx, cfg, hc, nc, nil, name)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			flag := "--image"
			if t.image == d.initImage && t.image != d.image {
				flag = "--init-image"
			}
			return imageMissing(t.image, flag)
		}
		return fmt.Errorf("create container from %s: %w", t.image, d.explain(err))
	}
	defer d.forceRemove(ctx, resp.ID)

	hj, err := d.cli.ContainerAttach(ctx, resp.ID, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return fmt.Errorf("attach to %s: %w", name, d.explain(err))
	}
	defer hj.Close()
	// Wait is registered before start so a quick exit cannot be missed.
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	waitC, waitErrC := d.cli.ContainerWait(wctx, resp.ID, container.WaitConditionNextExit)
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(t.out, t.out, hj.Reader)
		copied <- err
	}()
	if err := d.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		hj.Close()
		<-copied
		return fmt.Errorf("start %s: %w", name, d.explain(err))
	}
	var code int64
	select {
	case w := <-waitC:
		code = w.StatusCode
		if w.Error != nil && w.Error.Message != "" {
			hj.Close()
			<-copied
			return fmt.Errorf("wait for %s: %s", name, w.Error.Message)
		}
	case err := <-waitErrC:
		hj.Close()
		<-copied
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", show, ctx.Err())
		}
		return fmt.Errorf("wait for %s: %w", name, d.explain(err))
	case <-ctx.Done():
		hj.Close()
		<-copied
		return fmt.Errorf("%s: %w", show, ctx.Err())
	}
	// The attach stream ends when the container exits; bound the wait in
	// case the engine keeps it open.
	select {
	case <-copied:
	case <-time.After(10 * time.Second):
		hj.Close()
		<-copied
	}
	if code != 0 {
		return fmt.Errorf("%s exited with code %d", show, code)
	}
	return nil
}

// forceRemove removes a container even when ctx is already cancelled: a
// cancelled step must not leave containers behind.
func (d *Docker) forceRemove(ctx context.Context, id string) {
	rctx, cancel := cleanupCtx(ctx)
	defer cancel()
	_ = d.cli.ContainerRemove(rctx, id, container.RemoveOptions{Force: true})
}

// cleanupCtx outlives a cancelled ctx (keeping its values) for bounded
// clean-up calls.
func cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// postgresIDs returns the uid and gid of the postgres user in the image,
// looked up once in a short-lived container.
func (d *Docker) postgresIDs(ctx context.Context) (int, int, error) {
	d.ownerMu.Lock()
	defer d.ownerMu.Unlock()
	if d.pgUID >= 0 {
		return d.pgUID, d.pgGID, nil
	}
	var buf bytes.Buffer
	err := d.runTask(ctx, task{image: d.image, node: "setup", user: "root",
		argv: []string{"sh", "-c", "id -u postgres; id -g postgres"}, out: &buf, quiet: true})
	if err != nil {
		return 0, 0, fmt.Errorf("look up the postgres user in %s: %w: %s", d.image, err, strings.TrimSpace(buf.String()))
	}
	f := strings.Fields(buf.String())
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("look up the postgres user in %s: unexpected output %q", d.image, buf.String())
	}
	uid, err1 := strconv.Atoi(f[len(f)-2])
	gid, err2 := strconv.Atoi(f[len(f)-1])
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("look up the postgres user in %s: unexpected output %q", d.image, buf.String())
	}
	d.pgUID, d.pgGID = uid, gid
	return uid, gid, nil
}

// ensureDataOwner makes the node's host data dir exist and belong to the
// image's postgres user: postgres refuses a data dir it does not own, and a
// restore as postgres (step 7) must be able to write into it. Docker would
// otherwise create a missing mount source owned by root. Files are handed
// over only when the directory itself is not postgres's yet.
func (d *Docker) ensureDataOwner(ctx context.Context, node Node) error {
	dd := d.DataDir(node)
	if err := d.lab.MkdirAll(dd, 0o700, -1, -1); err != nil {
		return err
	}
	uid, gid, err := d.postgresIDs(ctx)
	if err != nil {
		return err
	}
	st, err := os.Stat(dd)
	if err != nil {
		return fmt.Errorf("stat data dir: %w", err)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) == uid && int(sys.Gid) == gid {
		return nil
	}
	if os.Geteuid() == 0 {
		if err := chownTreeNoFollow(d.lab.Dir, areaDir(node, AreaData), uid, gid); err != nil {
			return fmt.Errorf("hand data dir to postgres: %w", err)
		}
		return nil
	}
	// Not root on the host: a root container does the chown.
	err = d.runTask(ctx, task{image: d.image, node: node, user: "root",
		argv:  []string{"chown", "-R", "postgres:postgres", containerData},
		binds: []string{dd + ":" + containerData}, out: io.Discard})
	if err != nil {
		return fmt.Errorf("hand data dir to postgres: %w", err)
	}
	return nil
}
