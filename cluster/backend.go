package cluster

import (
	"context"
	"errors"
	"io"
)

// Node names one of the lab's servers (see Topology).
type Node string

// The two servers of the seed.
const (
	Primary Node = "primary"
	Replica Node = "replica"
)

// The is the node as a sentence names it: the seed's "the primary" and
// "the replica" by their roles, any other by name ("server a"), which
// reads where "the a" would not.
func (n Node) The() string {
	if n == Primary || n == Replica {
		return "the " + string(n)
	}
	return "server " + string(n)
}

// ServerPaths are paths as the server's own environment sees them: host paths
// for the local backend, container paths (/data, /wal-g-storage, ...) for
// Docker. Archive and restore commands are written with these.
type ServerPaths struct {
	Data       string // the data directory (the seed's /data)
	Config     string // the include_dir (the seed's /custom-pg-configs)
	ConfigDir  string // the config dir as commands run by Exec see it
	Storage    string // the archive root (the seed's /wal-g-storage)
	WalgConfig string // wal-g.json (the seed's /wal-g.json)
	WalgBin    string // the wal-g binary (the seed's /usr/local/bin/wal-g)
	// Host and Port are how the other servers reach this one (its
	// network alias and 5432 in Docker, 127.0.0.1 and its port locally):
	// what a standby's primary_conninfo names.
	Host  string
	Port  string
	Owner string // user:group that owns server files (seed step 4a)
}

// ProcState is what a backend knows about a server's process or container.
type ProcState struct {
	Exists   bool // a process or container was created and not removed
	Running  bool
	ExitCode int // valid when Exists && !Running
	Detail   string
}

// Backend is where the lab's servers run (its Topology). Implementations: Local (postgres
// processes) and Docker (containers through the Engine API).
type Backend interface {
	// Name is "local" or "docker".
	Name() string
	// Check verifies that the backend can work (binaries, engine, images)
	// and returns a one-line actionable error when it cannot.
	Check(ctx context.Context) error
	// Paths returns the paths the node's server environment uses.
	Paths(node Node) ServerPaths
	// Init runs initdb for node into its data directory (seed step 1).
	Init(ctx context.Context, node Node, out io.Writer) error
	// Start launches the node's server and returns once it is launched; it
	// does not wait for readiness (see WaitReady).
	Start(ctx context.Context, node Node, out io.Writer) error
	// Stop shuts the node's server down (fast shutdown) and waits for it to
	// exit. Stopping a server that is not running is not an error.
	Stop(ctx context.Context, node Node, out io.Writer) error
	// State reports the node's process or container state.
	State(ctx context.Context, node Node) (ProcState, error)
	// Exec runs argv in the node's environment as user ("root" or
	// "postgres"), with PGHOST/PGPORT/PGUSER set for that node's server.
	Exec(ctx context.Context, node Node, user string, argv []string, out io.Writer) error
	// WriteFile changes a file in the node's data or config dir as the
	// seed's sudo does, but never through a link: the server user owns
	// those dirs and could have put one there.
	WriteFile(ctx context.Context, node Node, f ServerFile) error
	// Postmaster reads the node's postmaster.pid (its status line says
	// starting, ready, standby or stopping) without touching the server;
	// the zero value when no live server has written one.
	Postmaster(ctx context.Context, node Node) (PostmasterFile, error)
	// LogTail returns up to n of the last lines of the node's server log.
	LogTail(ctx context.Context, node Node, n int) ([]string, error)
	// ControlData runs pg_controldata on the node's data directory.
	ControlData(ctx context.Context, node Node) (string, error)
	// DataDir is where the node's data directory is on the host, for
	// messages and a shell's start directory. Read its files with ReadFile
	// and ReadDir, which need no host path.
	DataDir(node Node) string
	// ConnString is a libpq connection string reachable from the host
	// (loopback only) for the poller.
	ConnString(node Node) string
	// Addr is the host:port of ConnString, for display.
	Addr(node Node) string
	// RemoveAll deletes a host path inside the lab that the servers may
	// own; the caller has already checked it is inside the lab.
	RemoveAll(ctx context.Context, hostPath string) error
	// Shell returns argv and dir for an interactive shell in the node's
	// environment (docker exec, or a shell in the data dir).
	Shell(node Node) (argv []string, dir string)

	// Read-side file access: a name relative to one of the node's areas
	// (AreaData, AreaConfig, AreaStorage), so that nothing above the
	// backend assumes the servers' files are on this host. A missing file
	// is an error that wraps fs.ErrNotExist.

	// ReadFile returns the contents of a file.
	ReadFile(ctx context.Context, node Node, area FileArea, name string) ([]byte, error)
	// ReadDir lists a directory ("" is the area itself), sorted by name;
	// links are listed with their target, not followed.
	ReadDir(ctx context.Context, node Node, area FileArea, name string) ([]FileInfo, error)

	// Close stops what the backend started when stopServers is true and
	// releases its resources; with stopServers false, servers keep running.
	Close(ctx context.Context, stopServers bool) error
}

// ContainerShell is implemented by backends whose Shell runs inside the
// server's own container: it needs that container running, and the
// command's -e environment is the backend's, not the user's to read. A
// front end asks this instead of looking at the backend's type.
type ContainerShell interface {
	ShellInContainer() bool
}

// ErrNotRunning is returned by operations that need a running server.
var ErrNotRunning = errors.New("server is not running")
