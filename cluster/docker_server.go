package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
)

// Init implements Backend (seed step 1): initdb in a short-lived container
// from the init image, as the seed does (chown, then initdb as postgres),
// then the pg_hba entry for the host's poller.
func (d *Docker) Init(ctx context.Context, node Node, out io.Writer) error {
	out = orDiscard(out)
	_, gw, err := d.ensureNetwork(ctx)
	if err != nil {
		return err
	}
	dd := d.DataDir(node)
	if err := d.lab.MkdirAll(dd, 0o700, -1, -1); err != nil {
		return err
	}
	script := fmt.Sprintf(`set -e
chown -R postgres:postgres %[1]s
su postgres -c "initdb -D %[1]s --username=postgres"
`, containerData)
	binds := []string{dd + ":" + containerData}
	if !d.socketAuth() {
		// walstep polls through the published port with the lab's secret,
		// which the postgres role needs from the start (step 4c sets it
		// again): initdb reads it from a copy only postgres can read.
		if _, err := d.lab.Secret(); err != nil {
			return err
		}
		script = fmt.Sprintf(`set -e
chown -R postgres:postgres %[1]s
cp %[2]s /tmp/walstep-pw && chown postgres /tmp/walstep-pw && chmod 600 /tmp/walstep-pw
su postgres -c "initdb -D %[1]s --username=postgres --pwfile=/tmp/walstep-pw"
rm -f /tmp/walstep-pw
echo '%[3]s' >> %[1]s/pg_hba.conf
`, containerData, containerPwfile, hbaLine(gw))
		binds = append(binds, d.lab.SecretPath()+":"+containerPwfile+":ro")
		fmt.Fprintln(out, "walstep: initdb also sets the postgres role's password to this lab's secret (run/lab-secret), which walstep, not being root, uses to reach the servers through their published ports")
	}
	err = d.runTask(ctx, task{
		image: d.initImage, node: node, user: "root",
		argv:  []string{"sh", "-c", script},
		binds: binds,
		out:   out, show: "initdb -D /data --username=postgres",
	})
	if err != nil {
		return fmt.Errorf("run initdb: %w", err)
	}
	d.learnOwner(dd)
	return nil
}

// learnOwner takes the image's postgres uid and gid from a data dir initdb
// just chowned to it, so no container has to look them up.
func (d *Docker) learnOwner(dataDir string) {
	st, err := os.Stat(dataDir)
	if err != nil {
		return
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	d.ownerMu.Lock()
	defer d.ownerMu.Unlock()
	if d.pgUID < 0 {
		d.pgUID, d.pgGID = int(sys.Uid), int(sys.Gid)
	}
}

// Start implements Backend: removes a stale stopped container of the same
// name (keeping its log), creates and starts the server container, and
// returns once it is started (not ready: see WaitReady).
func (d *Docker) Start(ctx context.Context, node Node, out io.Writer) error {
	out = orDiscard(out)
	name := d.ContainerName(node)
	old, err := d.inspectOwn(ctx, name)
	if err != nil {
		return fmt.Errorf("start %s: %w", node, err)
	}
	if old != nil {
		if old.State != nil && old.State.Running {
			port := d.notePort(node, old)
			fmt.Fprintf(out, "%s is already running (container %s, 127.0.0.1:%d)\n", node, name, port)
			return nil
		}
		if err := d.removeServer(ctx, node, old.ID); err != nil {
			return fmt.Errorf("start %s: %w", node, err)
		}
	}
	netID, _, err := d.ensureNetwork(ctx)
	if err != nil {
		return fmt.Errorf("start %s: %w", node, err)
	}
	if err := d.ensureDataOwner(ctx, node); err != nil {
		return fmt.Errorf("start %s: %w", node, err)
	}
	if _, err := StatBelow(ctx, d.DataDir(node), "PG_VERSION"); errors.Is(err, fs.ErrNotExist) {
		// Only a sure "not there": a host user who may not look inside a
		// postgres-owned dir lets the server itself tell.
		return fmt.Errorf("start %s: %s holds no database (run the steps that create it first)", node, d.DataDir(node))
	}
	binds, err := d.binds(node)
	if err != nil {
		return fmt.Errorf("start %s: %w", node, err)
	}
	cmd := []string{"postgres", "-D", containerData,
		// Debian's and many images' default is localhost, but the replica
		// must reach the primary over the network, and the host's poller
		// arrives through the published port.
		"-c", "listen_addresses=*",
	}
	if d.socketAuth() {
		if err := d.prepareSocketDir(ctx, node); err != nil {
			return fmt.Errorf("start %s: %w", node, err)
		}
		binds = append(binds, d.SocketDir(node)+":"+containerSocket)
		cmd = append(cmd, "-c", "unix_socket_directories=/var/run/postgresql,"+containerSocket)
	}
	cfg := &container.Config{
		Image:        d.image,
		User:         "postgres",
		Cmd:          cmd,
		Env:          d.env(),
		Labels:       d.labels(node, "server"),
		ExposedPorts: nat.PortSet{pgPort: struct{}{}},
		Hostname:     string(node),
		// The official postgres images declare STOPSIGNAL SIGINT, so the
		// seed's `docker compose stop` is a fast shutdown. Set it here too
		// because an imported image (the test image, a home-made
		// postgres_repro) may not declare it, and SIGTERM would be a smart
		// shutdown that waits for every client session to end.
		StopSignal: "SIGINT",
	}
	hc := &container.HostConfig{
		Binds:       binds,
		NetworkMode: container.NetworkMode(d.NetworkName()),
		// The engine's init (tini) as pid 1, forwarding signals to the
		// postmaster: a hook's daemon is then adopted and reaped by it,
		// not by the postmaster, which takes any child killed by a signal
		// for a crashed backend and restarts the server in recovery.
		Init: &initProcess,
		// HostPort "" lets the engine pick a free port; loopback only, so
		// the servers (trusting the gateway) are not exposed to the LAN.
		PortBindings: nat.PortMap{pgPort: []nat.PortBinding{{HostIP: "127.0.0.1", HostPort: ""}}},
		// No AutoRemove: a replica that shuts down at its recovery target
		// must keep its exit code and logs until walstep removes it.
	}
	nc := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		d.NetworkName(): {NetworkID: netID, Aliases: []string{string(node)}},
	}}
	fmt.Fprintf(out, "$ postgres -D /data -c listen_addresses='*'  # container %s from %s as postgres\n", name, d.image)
	d.noteContainers()
	resp, err := d.cli.ContainerCreate(ctx, cfg, hc, nc, nil, name)
	if cerrdefs.IsNotFound(err) {
		return imageMissing(d.image, "--image")
	}
	if err != nil {
		return fmt.Errorf("create container %s: %w", name, d.explain(err))
	}
	if err := d.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		d.forceRemove(ctx, resp.ID)
		return fmt.Errorf("start container %s: %w", name, d.explain(err))
	}
	insp, err := d.cli.ContainerInspect(ctx, resp.ID)
	if err != nil {
		return fmt.Errorf("inspect container %s: %w", name, err)
	}
	port := d.notePort(node, &insp)
	if port == 0 && insp.State != nil && !insp.State.Running {
		// Exited at once (a broken config, say): the log says why, and the
		// container stays for State and LogTail.
		fmt.Fprintf(out, "%s exited right after starting (code %d): see its log\n", node, insp.State.ExitCode)
		return nil
	}
	fmt.Fprintf(out, "%s started (container %s) on 127.0.0.1:%d\n", node, name, port)
	return nil
}

// Stop implements Backend with the seed's `docker compose stop` then
// `docker compose down`: SIGINT (fast shutdown), escalated to SIGQUIT
// (immediate shutdown) when the server makes no progress toward stopping
// and to SIGKILL after the stop timeout, then the container is removed
// with its log kept in logs/<node>.log.
func (d *Docker) Stop(ctx context.Context, node Node, out io.Writer) error {
	out = orDiscard(out)
	return d.stop(ctx, node, out, out)
}

// stopOwn stops the container of this session's --prefix (see stop).
func (d *Docker) stopOwn(ctx context.Context, node Node, out, warn io.Writer) error {
	name := d.ContainerName(node)
	insp, err := d.inspectOwn(ctx, name)
	if err != nil {
		return fmt.Errorf("stop %s: %w", node, err)
	}
	if insp == nil {
		fmt.Fprintf(out, "%s is not running\n", node)
		return nil
	}
	if insp.State != nil && insp.State.Running {
		fmt.Fprintf(out, "stopping %s (container %s, fast shutdown)\n", node, name)
		if err := d.stopContainer(ctx, node, insp.ID, out, warn); err != nil {
			if ctx.Err() != nil {
				d.forceRemove(ctx, insp.ID)
				return fmt.Errorf("stop %s: %w (killed)", node, ctx.Err())
			}
			return fmt.Errorf("stop container %s: %w", name, d.explain(err))
		}
	} else {
		fmt.Fprintf(out, "%s had already exited (code %d)\n", node, exitCode(insp))
	}
	if err := d.removeServer(ctx, node, insp.ID); err != nil {
		return fmt.Errorf("stop %s: %w", node, err)
	}
	return nil
}

func (d *Docker) stopContainer(ctx context.Context, node Node, id string, out, warn io.Writer) error {
	return stopServerContainer(ctx, d.cli, node, id, d.stopTO, out, warn)
}

// initProcess is HostConfig.Init's value for the server containers.
var initProcess = true

// stopServerContainer sends SIGINT and waits while the server's log
// grows; a server that stalls gets SIGQUIT, then SIGKILL after stopTO.
func stopServerContainer(ctx context.Context, cli *client.Client, node Node, id string, stopTO time.Duration, out, warn io.Writer) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wc, ec := cli.ContainerWait(wctx, id, container.WaitConditionNotRunning)
	done := make(chan struct{})
	go func() {
		select {
		case <-wc:
		case <-ec:
		}
		close(done)
	}()
	if err := cli.ContainerKill(ctx, id, "SIGINT"); err != nil && !cerrdefs.IsConflict(err) {
		return err
	}
	logSize := func() int64 {
		b, err := readContainerLogs(ctx, cli, id, "all")
		if err != nil {
			return -1
		}
		return int64(len(b))
	}
	stopped, err := awaitFastShutdown(ctx, done, stopTO, logSize)
	if err != nil {
		return err
	}
	how := ""
	if !stopped {
		noteImmediate(out, warn, node)
		how = " (immediate shutdown)"
		if err := cli.ContainerKill(ctx, id, "SIGQUIT"); err != nil && !cerrdefs.IsConflict(err) {
			return err
		}
		select {
		case <-done:
		case <-time.After(stopTO):
			noteLine(out, warn, fmt.Sprintf("%s did not stop in %s, sending SIGKILL", node, stopTO))
			if err := cli.ContainerKill(ctx, id, "SIGKILL"); err != nil && !cerrdefs.IsConflict(err) {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// Wait for the exit to be recorded before the logs are saved.
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	case <-ctx.Done():
		return ctx.Err()
	}
	fmt.Fprintf(out, "%s stopped%s\n", node, how)
	return nil
}

func exitCode(insp *container.InspectResponse) int {
	if insp.State == nil {
		return 0
	}
	return insp.State.ExitCode
}

// removeServer appends the container's log to logs/<node>.log (so LogTail
// and the report still see it) and removes the container.
func (d *Docker) removeServer(ctx context.Context, node Node, id string) error {
	var saveErr error
	if logs, err := d.containerLogs(ctx, id, "all"); err == nil {
		saveErr = d.appendSavedLog(node, logs)
	} else if !cerrdefs.IsNotFound(err) {
		saveErr = err
	}
	rctx, cancel := cleanupCtx(ctx)
	defer cancel()
	if err := d.cli.ContainerRemove(rctx, id, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", id[:min(12, len(id))], d.explain(err))
	}
	d.mu.Lock()
	delete(d.ports, node)
	d.mu.Unlock()
	if saveErr != nil {
		return fmt.Errorf("keep server log: %w", saveErr)
	}
	return nil
}

func (d *Docker) savedLogPath(node Node) string { return d.lab.Path(LogsDir, string(node)+".log") }

func (d *Docker) appendSavedLog(node Node, logs []byte) error {
	if len(logs) == 0 {
		return nil
	}
	if err := d.lab.MkdirAll(d.lab.Path(LogsDir), 0o755, -1, -1); err != nil {
		return err
	}
	f, err := openAppendNoFollow(d.lab.Dir, LogsDir, string(node)+".log")
	if err != nil {
		return fmt.Errorf("keep server log: %w", err)
	}
	if len(logs) > 0 && logs[len(logs)-1] != '\n' {
		logs = append(logs, '\n')
	}
	if _, err := f.Write(logs); err != nil {
		f.Close()
		return fmt.Errorf("write saved log: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write saved log: %w", err)
	}
	return nil
}

// containerLogs returns the demultiplexed stdout+stderr of a container;
// tail is a line count or "all".
func (d *Docker) containerLogs(ctx context.Context, id, tail string) ([]byte, error) {
	return readContainerLogs(ctx, d.cli, id, tail)
}

func readContainerLogs(ctx context.Context, cli *client.Client, id, tail string) ([]byte, error) {
	rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: tail})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	// Containers run without a TTY, so the stream is multiplexed.
	if _, err := stdcopy.StdCopy(&buf, &buf, rc); err != nil {
		return buf.Bytes(), fmt.Errorf("read container logs: %w", err)
	}
	return buf.Bytes(), nil
}

// State implements Backend from the container's state. A removed container
// does not exist; one that exited on its own keeps its exit code.
func (d *Docker) State(ctx context.Context, node Node) (ProcState, error) {
	insp, err := d.inspectOwn(ctx, d.ContainerName(node))
	if err != nil {
		return ProcState{}, err
	}
	if insp == nil {
		d.mu.Lock()
		delete(d.ports, node)
		d.mu.Unlock()
		return ProcState{}, nil
	}
	port := d.notePort(node, insp)
	st := ProcState{Exists: true}
	if insp.State != nil {
		st.Running = insp.State.Running
		st.ExitCode = insp.State.ExitCode
		switch {
		case st.Running:
			st.Detail = fmt.Sprintf("container %s running, 127.0.0.1:%d", d.ContainerName(node), port)
		case insp.State.OOMKilled:
			st.Detail = "killed: out of memory"
		case insp.State.Error != "":
			st.Detail = fmt.Sprintf("%s: %s", insp.State.Status, insp.State.Error)
		default:
			st.Detail = fmt.Sprintf("exited with code %d", insp.State.ExitCode)
		}
	}
	return st, nil
}
