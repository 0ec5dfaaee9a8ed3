package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
)

// Defaults of DockerOptions: the seed's images and walstep's own prefix.
const (
	DefaultInitImage    = "postgres:14.5"
	DefaultDockerImage  = "postgres_repro:latest"
	DefaultDockerPrefix = "walstep"
)

// Labels put on everything the Docker backend creates, so that quitting and
// `walstep clean` remove exactly what walstep made for one lab and nothing
// else (a user's own containers never carry them).
const (
	LabelLab    = "walstep.lab"    // the lab directory (absolute, symlinks resolved)
	LabelPrefix = "walstep.prefix" // the --prefix the resource was made with
	LabelNode   = "walstep.node"   // primary or replica
	LabelRole   = "walstep.role"   // server, or task for a short-lived container
)

// Paths inside the containers: the seed's bind-mount targets.
const (
	containerData    = "/data"
	containerConfig  = "/custom-pg-configs"
	containerStorage = "/wal-g-storage"
	containerWalgCfg = "/wal-g.json"
	containerWalgBin = "/usr/local/bin/wal-g"
	containerPGPort  = "5432"
)

// pgPort is the server port inside every container.
var pgPort = nat.Port(containerPGPort + "/tcp")

// ErrDockerUnavailable marks errors caused by an engine that does not answer,
// so that `walstep clean` on a machine without Docker can carry on.
var ErrDockerUnavailable = errors.New("docker engine not reachable")

// DockerOptions configure the Docker backend.
type DockerOptions struct {
	Lab *Lab
	// InitImage runs initdb (seed step 1); default postgres:14.5.
	InitImage string
	// Image runs the servers and every other command (the seed's
	// postgres_repro:latest, PostgreSQL with wal-g).
	Image string
	// Prefix names the containers (<prefix>-primary, <prefix>-replica) and
	// the network (<prefix>-net), so two labs with different prefixes run
	// side by side; default "walstep".
	Prefix string
	// WalgBin is a host wal-g binary bind-mounted read-only at
	// /usr/local/bin/wal-g in every container; "" uses the image's own.
	WalgBin string
	// StopTimeout bounds a fast shutdown before Docker sends SIGKILL; 0
	// means 60s.
	StopTimeout time.Duration
}

// Docker runs the two servers as containers through the Docker Engine API,
// as the seed does: one user-defined network on which the replica reaches
// the primary by its alias "primary", the seed's bind mounts, servers run
// with --user postgres and `postgres -D /data`, ports published on
// 127.0.0.1 only. Root-owned file work runs in short-lived containers.
//
// Bind mounts name host paths, so the engine must see the lab at the same
// path (a local engine, or a remote one sharing the filesystem).
type Docker struct {
	cli       *client.Client
	lab       *Lab
	initImage string
	image     string
	prefix    string
	walgBin   string
	stopTO    time.Duration

	mu      sync.Mutex
	ports   map[Node]int // published host ports of running servers
	netID   string       // the lab network, once ensured
	gateway string       // its IPv4 gateway (where host connections come from)
	closed  bool

	netMu    sync.Mutex // serialises network creation (concurrent steps)
	ownerMu  sync.Mutex // serialises the one-time uid lookup below
	pgUID    int        // the image's postgres uid/gid, -1 until looked up
	pgGID    int
	ctrlMu   sync.Mutex
	ctrlSeen map[Node]ctrlCache
}

// ctrlCache remembers pg_controldata output for a stopped server, keyed on
// pg_control's size and mtime, so a poller asking every second does not
// start a container every second.
type ctrlCache struct {
	size  int64
	mtime time.Time
	out   string
}

var prefixRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// NewDocker makes a Docker backend. It does not contact the engine; Check
// does.
func NewDocker(opts DockerOptions) (*Docker, error) {
	if opts.Lab == nil {
		return nil, errors.New("docker backend: no lab")
	}
	d := &Docker{
		lab:       opts.Lab,
		initImage: opts.InitImage,
		image:     opts.Image,
		prefix:    opts.Prefix,
		stopTO:    opts.StopTimeout,
		ports:     map[Node]int{},
		pgUID:     -1,
		pgGID:     -1,
		ctrlSeen:  map[Node]ctrlCache{},
	}
	if d.initImage == "" {
		d.initImage = DefaultInitImage
	}
	if d.image == "" {
		d.image = DefaultDockerImage
	}
	if d.prefix == "" {
		d.prefix = DefaultDockerPrefix
	}
	if !prefixRE.MatchString(d.prefix) {
		return nil, fmt.Errorf("--prefix %q is not usable in container names: use letters, digits, '_', '.' and '-'", d.prefix)
	}
	if d.stopTO == 0 {
		d.stopTO = 60 * time.Second
	}
	if opts.WalgBin != "" {
		abs, err := filepath.Abs(opts.WalgBin)
		if err != nil {
			return nil, fmt.Errorf("resolve --wal-g path: %w", err)
		}
		d.walgBin = abs
	}
	cli, err := newDockerClient()
	if err != nil {
		return nil, err
	}
	d.cli = cli
	return d, nil
}

// newDockerClient honours DOCKER_HOST and friends and negotiates the API
// version, so older engines and remote engines work.
func newDockerClient() (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("configure docker client: %w", err)
	}
	return cli, nil
}

// Name implements Backend.
func (d *Docker) Name() string { return "docker" }

// Prefix is the prefix of this backend's container and network names.
func (d *Docker) Prefix() string { return d.prefix }

// Image is the image the servers run from.
func (d *Docker) Image() string { return d.image }

// ContainerName is the name of node's server container.
func (d *Docker) ContainerName(node Node) string { return d.prefix + "-" + string(node) }

// NetworkName is the name of the lab's Docker network.
func (d *Docker) NetworkName() string { return d.prefix + "-net" }

// Check implements Backend: the engine answers and both images exist
// locally. It never pulls: no registry may be reachable, and pulling is
// the user's decision.
func (d *Docker) Check(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := d.cli.Ping(pctx); err != nil {
		return fmt.Errorf("%w at %s: start dockerd or use --backend local", ErrDockerUnavailable, d.cli.DaemonHost())
	}
	for _, img := range []struct{ name, flag string }{{d.initImage, "--init-image"}, {d.image, "--image"}} {
		if _, err := d.cli.ImageInspect(ctx, img.name); err != nil {
			if cerrdefs.IsNotFound(err) {
				return imageMissing(img.name, img.flag)
			}
			return fmt.Errorf("inspect image %s: %w", img.name, d.explain(err))
		}
	}
	if d.walgBin != "" {
		st, err := os.Stat(d.walgBin)
		if err != nil || st.IsDir() {
			return fmt.Errorf("--wal-g %s is not a file: point it at a wal-g binary built for the image's platform", d.walgBin)
		}
	}
	return nil
}

// imageMissing is Check's one-line advice for an image the engine lacks.
func imageMissing(name, flag string) error {
	if flag == "--init-image" && name == DefaultInitImage {
		return fmt.Errorf("image %s not found: pull it yourself (docker pull %s), build one (scripts/test-image.sh builds a PostgreSQL image without a registry) or pass %s", name, name, flag)
	}
	return fmt.Errorf("image %s not found: build it (scripts/test-image.sh builds a PostgreSQL image without a registry) or pass %s", name, flag)
}

// Paths implements Backend: the seed's paths inside the containers.
func (d *Docker) Paths(node Node) ServerPaths {
	return ServerPaths{
		Data:        containerData,
		Config:      containerConfig,
		Storage:     containerStorage,
		WalgConfig:  containerWalgCfg,
		WalgBin:     containerWalgBin,
		PrimaryHost: string(Primary), // the primary's network alias
		PrimaryPort: containerPGPort,
		Owner:       "postgres:postgres",
	}
}

// DataDir implements Backend: the host side of the node's /data mount.
func (d *Docker) DataDir(node Node) string {
	if node == Replica {
		return d.lab.Path(ReplicaData)
	}
	return d.lab.Path(PrimaryData)
}

func (d *Docker) configDir(node Node) string {
	if node == Replica {
		return d.lab.Path(ReplicaConfig)
	}
	return d.lab.Path(PrimaryConfig)
}

// Port is the node's published loopback port, 0 when unknown.
func (d *Docker) Port(node Node) int {
	d.mu.Lock()
	p, ok := d.ports[node]
	d.mu.Unlock()
	if ok {
		return p
	}
	// A server kept running by an earlier session: ask the engine once.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if insp, err := d.inspectOwn(ctx, d.ContainerName(node)); err == nil && insp != nil {
		return d.notePort(node, insp)
	}
	return 0
}

// Addr implements Backend.
func (d *Docker) Addr(node Node) string { return fmt.Sprintf("127.0.0.1:%d", d.Port(node)) }

// ConnString implements Backend: the published loopback port. Host
// connections arrive from the network's gateway, which Init lets in (see
// hbaLine).
func (d *Docker) ConnString(node Node) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres password=postgres dbname=postgres sslmode=disable connect_timeout=2", d.Port(node))
}

// notePort records the published port of a running container (and forgets
// it when the container is not running, since ports change per container).
func (d *Docker) notePort(node Node, insp *container.InspectResponse) int {
	port := 0
	if insp.State != nil && insp.State.Running && insp.NetworkSettings != nil {
		for _, b := range insp.NetworkSettings.Ports[pgPort] {
			if p, err := strconv.Atoi(b.HostPort); err == nil && p > 0 {
				port = p
				break
			}
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if port == 0 {
		delete(d.ports, node)
	} else {
		d.ports[node] = port
	}
	return port
}

func (d *Docker) labels(node Node, role string) map[string]string {
	l := map[string]string{LabelLab: d.lab.Dir, LabelPrefix: d.prefix, LabelRole: role}
	if node != "" {
		l[LabelNode] = string(node)
	}
	return l
}

// inspectOwn inspects a container by name: nil when it does not exist, an
// error when the name is taken by something that is not this lab's.
func (d *Docker) inspectOwn(ctx context.Context, name string) (*container.InspectResponse, error) {
	insp, err := d.cli.ContainerInspect(ctx, name)
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspect container %s: %w", name, d.explain(err))
	}
	if insp.Config == nil || insp.Config.Labels[LabelLab] != d.lab.Dir {
		owner := "not walstep"
		if insp.Config != nil && insp.Config.Labels[LabelLab] != "" {
			owner = "lab " + insp.Config.Labels[LabelLab]
		}
		return nil, fmt.Errorf("container name %s is taken by a container of %s: pass another --prefix", name, owner)
	}
	return &insp, nil
}

// explain turns a connection failure into the one-line hint Check gives.
func (d *Docker) explain(err error) error {
	if client.IsErrConnectionFailed(err) {
		return fmt.Errorf("%w at %s (%v): start dockerd or use --backend local", ErrDockerUnavailable, d.cli.DaemonHost(), err)
	}
	return err
}

// ensureNetwork creates the lab network when missing and learns its
// gateway; it refuses a network of the same name that another lab owns.
func (d *Docker) ensureNetwork(ctx context.Context) (id, gateway string, err error) {
	d.netMu.Lock()
	defer d.netMu.Unlock()
	d.mu.Lock()
	id, gateway = d.netID, d.gateway
	d.mu.Unlock()
	if id != "" {
		// Cheap re-check: Close or Clean elsewhere may have removed it.
		if _, err := d.cli.NetworkInspect(ctx, id, network.InspectOptions{}); err == nil {
			return id, gateway, nil
		}
	}
	name := d.NetworkName()
	nw, err := d.cli.NetworkInspect(ctx, name, network.InspectOptions{})
	switch {
	case cerrdefs.IsNotFound(err):
		resp, cerr := d.cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge", Labels: d.labels("", "network")})
		if cerr != nil {
			return "", "", fmt.Errorf("create network %s: %w", name, d.explain(cerr))
		}
		if nw, err = d.cli.NetworkInspect(ctx, resp.ID, network.InspectOptions{}); err != nil {
			return "", "", fmt.Errorf("inspect network %s: %w", name, err)
		}
	case err != nil:
		return "", "", fmt.Errorf("inspect network %s: %w", name, d.explain(err))
	case nw.Labels[LabelLab] != d.lab.Dir:
		return "", "", fmt.Errorf("network %s exists and is not this lab's: pass another --prefix", name)
	}
	for _, c := range nw.IPAM.Config {
		if ip := strings.TrimSpace(c.Gateway); ip != "" && !strings.Contains(ip, ":") {
			gateway = ip
			break
		}
	}
	if gateway == "" {
		return "", "", fmt.Errorf("network %s has no IPv4 gateway: remove it (walstep clean) and run again", name)
	}
	d.mu.Lock()
	d.netID, d.gateway = nw.ID, gateway
	d.mu.Unlock()
	return nw.ID, gateway, nil
}

// binds are the seed's bind mounts for node. Host directories are created
// first: otherwise the engine creates them root-owned, and a missing
// run/wal-g.json would become a directory. wal-g.json is mounted only when
// the archiver wrote it (the cp archiver does not use it).
func (d *Docker) binds(node Node) ([]string, error) {
	for _, dir := range []string{d.lab.Path(StorageDir), d.configDir(node)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	b := []string{
		d.DataDir(node) + ":" + containerData,
		d.lab.Path(StorageDir) + ":" + containerStorage,
		d.configDir(node) + ":" + containerConfig,
	}
	if st, err := os.Stat(d.lab.Path(RunDir, WalgJSON)); err == nil && !st.IsDir() {
		b = append(b, d.lab.Path(RunDir, WalgJSON)+":"+containerWalgCfg+":ro")
	}
	if d.walgBin != "" {
		b = append(b, d.walgBin+":"+containerWalgBin+":ro")
	}
	return b, nil
}

// env makes psql, pg_basebackup and wal-g inside a container reach that
// container's own server over TCP loopback, which initdb's pg_hba trusts.
func (d *Docker) env() []string {
	return []string{
		"PGHOST=127.0.0.1",
		"PGPORT=" + containerPGPort,
		"PGUSER=postgres",
		"PGDATABASE=postgres",
		"PGDATA=" + containerData,
	}
}

// hbaLine is the one pg_hba.conf entry walstep adds at Init. The poller on
// the host reaches the server through the port published on 127.0.0.1, but
// the connection arrives in the container from the network's gateway
// address, which the seed's pg_hba does not trust (127.0.0.1 only, plus
// scram for everyone after step 11 — and the password only exists after
// step 4c). Allowing exactly the postgres user from the gateway's /32 keeps
// the seed's own rules in force for everything else: the replica connects
// from its own container address, and its replication connection targets
// the `replication` pseudo-database, which `all` does not match.
func hbaLine(gateway string) string {
	return fmt.Sprintf("host all postgres %s/32 trust  # walstep: lets the side panel poll from the host", gateway)
}

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
	if err := os.MkdirAll(dd, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	script := fmt.Sprintf(`set -e
chown -R postgres:postgres %[1]s
su postgres -c "initdb -D %[1]s --username=postgres"
echo '%[2]s' >> %[1]s/pg_hba.conf
`, containerData, hbaLine(gw))
	err = d.runTask(ctx, task{
		image: d.initImage, node: node, user: "root",
		argv:  []string{"sh", "-c", script},
		binds: []string{dd + ":" + containerData},
		out:   out, show: "initdb -D /data --username=postgres",
	})
	if err != nil {
		return fmt.Errorf("run initdb: %w", err)
	}
	return nil
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
	if _, err := os.Stat(filepath.Join(d.DataDir(node), "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
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
// `docker compose down`: SIGINT (fast shutdown), SIGKILL after the stop
// timeout, then the container is removed with its log kept in
// logs/<node>.log.
func (d *Docker) Stop(ctx context.Context, node Node, out io.Writer) error {
	out = orDiscard(out)
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
		secs := int(d.stopTO / time.Second)
		// Signal needs API 1.42; older engines use the container's
		// StopSignal, which Start set to SIGINT as well.
		err := d.cli.ContainerStop(ctx, insp.ID, container.StopOptions{Signal: "SIGINT", Timeout: &secs})
		if err != nil {
			if ctx.Err() != nil {
				d.forceRemove(ctx, insp.ID)
				return fmt.Errorf("stop %s: %w (killed)", node, ctx.Err())
			}
			return fmt.Errorf("stop container %s: %w", name, d.explain(err))
		}
		// ContainerStop returns once the container is stopped; the wait
		// only makes sure the exit is recorded before the logs are saved.
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		wc, ec := d.cli.ContainerWait(wctx, insp.ID, container.WaitConditionNotRunning)
		select {
		case <-wc:
		case <-ec:
		}
		cancel()
		fmt.Fprintf(out, "%s stopped\n", node)
	} else {
		fmt.Fprintf(out, "%s had already exited (code %d)\n", node, exitCode(insp))
	}
	if err := d.removeServer(ctx, node, insp.ID); err != nil {
		return fmt.Errorf("stop %s: %w", node, err)
	}
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
	if err := os.MkdirAll(d.lab.Path(LogsDir), 0o755); err != nil {
		return fmt.Errorf("create logs dir: %w", err)
	}
	f, err := os.OpenFile(d.savedLogPath(node), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open saved log: %w", err)
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
	rc, err := d.cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: tail})
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
		return d.execIn(ctx, insp.ID, user, argv, out)
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

// execIn runs argv in a running container and streams its output.
func (d *Docker) execIn(ctx context.Context, id, user string, argv []string, out io.Writer) error {
	cr, err := d.cli.ContainerExecCreate(ctx, id, container.ExecOptions{
		User: user, Env: d.env(), Cmd: argv, AttachStdout: true, AttachStderr: true,
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
		// Closing the stream ends the copy. The engine has no call to kill
		// an exec'd process; it ends when its container stops.
		hj.Close()
		<-copied
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
	if ei.ExitCode != 0 {
		return fmt.Errorf("%s exited with code %d", shellJoin(argv), ei.ExitCode)
	}
	return nil
}

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
	if err := os.MkdirAll(dd, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
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
		err := filepath.WalkDir(dd, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, gid)
		})
		if err != nil {
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

// LogTail implements Backend: the log kept from removed containers
// followed by the current container's log, so it reads like one server log
// across restarts.
func (d *Docker) LogTail(ctx context.Context, node Node, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	saved, err := TailFile(d.savedLogPath(node), n)
	if err != nil {
		return nil, err
	}
	insp, err := d.inspectOwn(ctx, d.ContainerName(node))
	if err != nil {
		return saved, err
	}
	if insp == nil {
		return saved, nil
	}
	b, err := d.containerLogs(ctx, insp.ID, strconv.Itoa(n))
	if cerrdefs.IsNotFound(err) {
		// Removed between inspect and logs: its log is saved now.
		return TailFile(d.savedLogPath(node), n)
	}
	if err != nil {
		return saved, fmt.Errorf("read %s log: %w", node, d.explain(err))
	}
	cur := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(cur) == 1 && cur[0] == "" {
		cur = nil
	}
	lines := append(saved, cur...)
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}

// ControlData implements Backend: pg_controldata in the running container,
// else in a short-lived one. For a stopped server the output is cached
// while pg_control is unchanged, when the host can see that file.
func (d *Docker) ControlData(ctx context.Context, node Node) (string, error) {
	insp, err := d.inspectOwn(ctx, d.ContainerName(node))
	if err != nil {
		return "", err
	}
	argv := []string{"pg_controldata", containerData}
	var buf bytes.Buffer
	if insp != nil && insp.State != nil && insp.State.Running {
		err := d.execIn(ctx, insp.ID, "postgres", argv, &buf)
		if err != nil {
			return buf.String(), fmt.Errorf("run pg_controldata: %w: %s", err, strings.TrimSpace(buf.String()))
		}
		return buf.String(), nil
	}
	dd := d.DataDir(node)
	if _, err := os.Stat(dd); errors.Is(err, fs.ErrNotExist) {
		// Do not let a poll create the data dir (a mount would).
		return "", fmt.Errorf("run pg_controldata: %s does not exist", dd)
	}
	ctlStat, statErr := os.Stat(filepath.Join(dd, "global", "pg_control"))
	if statErr == nil {
		d.ctrlMu.Lock()
		c, ok := d.ctrlSeen[node]
		d.ctrlMu.Unlock()
		if ok && c.size == ctlStat.Size() && c.mtime.Equal(ctlStat.ModTime()) {
			return c.out, nil
		}
	} else if errors.Is(statErr, fs.ErrNotExist) {
		return "", fmt.Errorf("run pg_controldata: %s has no global/pg_control", dd)
	}
	binds := []string{dd + ":" + containerData + ":ro"}
	err = d.runTask(ctx, task{image: d.image, node: node, user: "postgres", argv: argv, binds: binds, out: &buf, quiet: true})
	text := buf.String()
	if err != nil {
		return text, fmt.Errorf("run pg_controldata: %w: %s", err, strings.TrimSpace(text))
	}
	if statErr == nil {
		d.ctrlMu.Lock()
		d.ctrlSeen[node] = ctrlCache{size: ctlStat.Size(), mtime: ctlStat.ModTime(), out: text}
		d.ctrlMu.Unlock()
	}
	return text, nil
}

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
	argv := []string{"docker", "exec", "-it"}
	for _, e := range d.env() {
		argv = append(argv, "-e", e)
	}
	return append(argv, d.ContainerName(node), "/bin/bash"), ""
}

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
		for _, n := range Nodes {
			if err := d.Stop(ctx, n, io.Discard); err != nil {
				errs = append(errs, err)
			}
		}
		// Leftover tasks (a crash mid-step) and the network.
		if err := removeLabelled(ctx, d.cli, d.lab, d.prefix, d.stopTO); err != nil {
			errs = append(errs, err)
		}
	}
	if err := d.cli.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close docker client: %w", err))
	}
	return errors.Join(errs...)
}

// Clean removes the containers (stopping them first) and networks that
// carry lab's labels and, when prefix is not "", that prefix; nothing else
// is touched. Used by `walstep clean`. When the engine does not answer the
// error wraps ErrDockerUnavailable.
func Clean(ctx context.Context, lab *Lab, prefix string) error {
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
		return fmt.Errorf("%w at %s: nothing to clean there", ErrDockerUnavailable, cli.DaemonHost())
	}
	return removeLabelled(ctx, cli, lab, prefix, 30*time.Second)
}

// removeLabelled stops and removes the lab's containers, then its networks.
func removeLabelled(ctx context.Context, cli *client.Client, lab *Lab, prefix string, stopTO time.Duration) error {
	f := filters.NewArgs(filters.Arg("label", LabelLab+"="+lab.Dir))
	if prefix != "" {
		f.Add("label", LabelPrefix+"="+prefix)
	}
	var errs []error
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("list walstep containers: %w", err)
	}
	secs := int(stopTO / time.Second)
	for _, c := range cs {
		if c.Labels[LabelLab] != lab.Dir { // belt and braces over the filter
			continue
		}
		if c.State == "running" {
			if err := cli.ContainerStop(ctx, c.ID, container.StopOptions{Signal: "SIGINT", Timeout: &secs}); err != nil && !cerrdefs.IsNotFound(err) {
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
