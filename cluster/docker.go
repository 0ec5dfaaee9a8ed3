package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
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
	// StopNotes gets the escalation lines of a stop at Close; nil drops them.
	StopNotes io.Writer
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
	notes     io.Writer // escalations of the stops at Close

	mu      sync.Mutex
	ports   map[Node]int // published host ports of running servers
	netID   string       // the lab network, once ensured
	gateway string       // its IPv4 gateway (where host connections come from)
	closed  bool

	netMu    sync.Mutex // serialises network creation (concurrent steps)
	ownerMu  sync.Mutex // serialises the one-time uid lookup below
	pgUID    int        // the image's postgres uid/gid, -1 until looked up
	pgGID    int
	usedOnce sync.Once // see noteContainers
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

// PrefixOK reports whether p can start Docker container and network names.
func PrefixOK(p string) bool { return prefixRE.MatchString(p) }

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
		notes:     orDiscard(opts.StopNotes),
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

// SetWalgBin bind-mounts the host's wal-g binary bin at
// /usr/local/bin/wal-g in the containers started from now on, as --wal-g
// does.
func (d *Docker) SetWalgBin(bin string) { d.walgBin = bin }

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
		Data:       containerData,
		Config:     containerConfig,
		ConfigDir:  containerConfig,
		Storage:    containerStorage,
		WalgConfig: containerWalgCfg,
		WalgBin:    containerWalgBin,
		Host:       string(node), // its network alias
		Port:       containerPGPort,
		Owner:      "postgres:postgres",
	}
}

// DataDir implements Backend: the host side of the node's /data mount.
func (d *Docker) DataDir(node Node) string { return d.lab.Path(DataDirName(node)) }

func (d *Docker) configDir(node Node) string { return d.lab.Path(ConfigDirName(node)) }

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

// ConnString implements Backend: the server's socket in the lab (see
// socketAuth), else the published loopback port with the lab's secret (see
// hbaLine).
func (d *Docker) ConnString(node Node) string {
	if d.socketAuth() {
		return fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres sslmode=disable connect_timeout=2", quoteConnValue(d.SocketDir(node)), containerPGPort)
	}
	pw := ""
	if s, err := d.lab.Secret(); err == nil {
		pw = " password=" + quoteConnValue(s)
	}
	return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres%s dbname=postgres sslmode=disable connect_timeout=2", d.Port(node), pw)
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
