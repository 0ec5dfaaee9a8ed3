package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// LocalOptions configure the local-process backend.
type LocalOptions struct {
	Lab   *Lab
	PGBin string // directory of initdb, postgres, pg_ctl...; "" finds one
	// StopTimeout bounds a fast shutdown before escalating; 0 means 60s.
	StopTimeout time.Duration
	// StopNotes gets the escalation lines of a stop at Close; nil drops them.
	StopNotes io.Writer
}

// Local runs the two servers as postgres processes on free 127.0.0.1 ports,
// with data dirs and logs inside the lab. When walstep runs as root the
// servers run as the postgres user, because initdb refuses root.
type Local struct {
	lab     *Lab
	pgBin   string
	stopTO  time.Duration
	notes   io.Writer           // escalations of the stops at Close
	runAs   *syscall.Credential // nil: run as ourselves
	owner   string              // user:group that owns server files
	ports   map[Node]int
	mu      sync.Mutex
	procs   map[Node]*localProc
	homeDir string
	walgBin string
}

type localProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	code int
	err  error
}

// requiredBins are the PostgreSQL programs the playbook uses.
var requiredBins = []string{"initdb", "postgres", "pg_basebackup", "pg_controldata", "psql"}

// FindPGBin resolves --pg-bin: the explicit dir, else the directory of
// pg_ctl on PATH (symlinks resolved), else the newest
// /usr/lib/postgresql/*/bin.
func FindPGBin(explicit string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(filepath.Join(explicit, "postgres")); err != nil {
			return "", fmt.Errorf("--pg-bin %s has no postgres binary: point it at the directory holding initdb and postgres", explicit)
		}
		return filepath.Abs(explicit)
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dir := filepath.Dir(real)
			if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
				return dir, nil
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries found: install postgresql (e.g. apt-get install postgresql-15) or pass --pg-bin DIR")
}

func pgMajor(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// NewLocal makes a local backend; it picks a free loopback port for each
// of the lab's nodes.
func NewLocal(opts LocalOptions) (*Local, error) {
	bin, err := FindPGBin(opts.PGBin)
	if err != nil {
		return nil, err
	}
	l := &Local{lab: opts.Lab, pgBin: bin, stopTO: opts.StopTimeout, notes: orDiscard(opts.StopNotes), ports: map[Node]int{}, procs: map[Node]*localProc{}}
	if l.stopTO == 0 {
		l.stopTO = 60 * time.Second
	}
	l.homeDir = opts.Lab.Path(RunDir, "home")
	l.walgBin = "wal-g"
	becomeSubreaper()
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, errors.New("running as root needs a postgres user to run the servers (initdb refuses root): create one (useradd postgres) or run walstep as an ordinary user")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		l.runAs = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		l.owner = "postgres:postgres"
	} else {
		l.owner = fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	}
	for _, n := range opts.Lab.Topology().Nodes() {
		// A server left running by an earlier session keeps its port,
		// so the poller and the steps reach it.
		if p := keptPort(l.DataDir(n)); p > 0 {
			l.ports[n] = p
			continue
		}
		p, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		l.ports[n] = p
	}
	return l, nil
}

// keptPort is the port of the live postmaster of dataDir (line 4 of its
// postmaster.pid), or 0.
func keptPort(dataDir string) int {
	if PostmasterPID(dataDir) <= 0 {
		return 0
	}
	b, err := ReadBelow(context.Background(), dataDir, "postmaster.pid", maxPidFile)
	if err != nil {
		return 0
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return 0
	}
	p, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil || p <= 0 || p > 65535 {
		return 0
	}
	return p
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Name implements Backend.
func (l *Local) Name() string { return "local" }

// PGBin is the directory of the PostgreSQL binaries in use.
func (l *Local) PGBin() string { return l.pgBin }

// Check implements Backend: binaries present, and the server user can
// reach the lab.
func (l *Local) Check(ctx context.Context) error {
	for _, b := range requiredBins {
		if _, err := os.Stat(filepath.Join(l.pgBin, b)); err != nil {
			return fmt.Errorf("%s not found in %s: install the PostgreSQL server package or pass --pg-bin DIR", b, l.pgBin)
		}
	}
	if l.runAs != nil {
		cmd := exec.CommandContext(ctx, "test", "-x", l.lab.Dir, "-a", "-r", l.lab.Dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: l.runAs}
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("the postgres user cannot reach the lab %s: make it and its parents traversable (chmod o+rx) or put the lab elsewhere", l.lab.Dir)
		}
	}
	return nil
}

// Paths implements Backend: host paths.
func (l *Local) Paths(node Node) ServerPaths {
	return ServerPaths{
		Data: l.DataDir(node),
		// Relative, so the include_dir line the backup carries from the
		// primary to the replica resolves per node, as /custom-pg-configs
		// does in the seed's per-container mounts (see linkConfig).
		Config:     ConfigLink,
		ConfigDir:  l.ConfigDir(node),
		Storage:    l.lab.Path(StorageDir),
		WalgConfig: l.lab.Path(RunDir, WalgJSON),
		WalgBin:    l.walgBin,
		Host:       "127.0.0.1",
		Port:       strconv.Itoa(l.ports[node]),
		Owner:      l.owner,
	}
}

// ConfigLink is the symlink in each local data dir that stands for the
// seed's /custom-pg-configs mount; include_dir names it relatively.
const ConfigLink = "custom-pg-configs"

// ConfigDir is the node's include_dir target on the host.
func (l *Local) ConfigDir(node Node) string { return l.lab.Path(ConfigDirName(node)) }

// linkConfig points dataDir/custom-pg-configs at the node's own config dir,
// replacing the primary's link that a restored backup carries. The data
// dir is the server user's: the link is made relative to the data dir
// opened without following a link, and a link there is replaced, never
// followed.
func (l *Local) linkConfig(node Node) error {
	return l.relinkConfig(node, true)
}

// relinkConfig is linkConfig; unless always, only a data dir that has
// such a link gets a new one.
func (l *Local) relinkConfig(node Node, always bool) error {
	dfd, err := openDirNoFollow(l.lab.Dir, areaDir(node, AreaData))
	if err != nil {
		return fmt.Errorf("link config dir: %w", err)
	}
	defer unix.Close(dfd)
	link := filepath.Join(l.DataDir(node), ConfigLink)
	var st unix.Stat_t
	switch err := unix.Fstatat(dfd, ConfigLink, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case err == nil && st.Mode&unix.S_IFMT != unix.S_IFLNK:
		return fmt.Errorf("start %s: %s is not a symlink: remove it", node, link)
	case err == nil:
		if err := unix.Unlinkat(dfd, ConfigLink, 0); err != nil {
			return fmt.Errorf("relink config dir: %w", &os.PathError{Op: "remove", Path: link, Err: err})
		}
	case !always:
		return nil
	}
	if err := unix.Symlinkat(l.ConfigDir(node), dfd, ConfigLink); err != nil {
		return fmt.Errorf("link config dir: %w", &os.PathError{Op: "symlink", Path: link, Err: err})
	}
	return nil
}

// AdoptCopiedData makes data dirs copied from another lab's run usable by
// this backend: each config link names the other lab's config dir, so it
// is made anew for this lab's (a server a hook starts with pg_ctl, not
// through Start, reads its confs through it).
func (l *Local) AdoptCopiedData(context.Context) error {
	for _, n := range l.lab.Topology().Nodes() {
		if _, err := os.Lstat(l.DataDir(n)); os.IsNotExist(err) {
			continue
		}
		if err := l.relinkConfig(n, false); err != nil {
			return fmt.Errorf("adopt copied %s data: %w", n, err)
		}
	}
	return nil
}

// SetWalgBin makes Paths report bin as the wal-g binary.
func (l *Local) SetWalgBin(bin string) { l.walgBin = bin }

// DataDir implements Backend.
func (l *Local) DataDir(node Node) string { return l.lab.Path(DataDirName(node)) }

// Port is the node's loopback port.
func (l *Local) Port(node Node) int { return l.ports[node] }

// Addr implements Backend.
func (l *Local) Addr(node Node) string {
	_, port, _ := l.reach(node)
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// ConnString implements Backend.
func (l *Local) ConnString(node Node) string {
	dir, port, _ := l.reach(node)
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable connect_timeout=2", quoteConnValue(dir), port)
}

// LogPath is the node's server log file.
func (l *Local) LogPath(node Node) string { return l.lab.Path(LogsDir, LogName(node)) }

func (l *Local) env(node Node) []string {
	host, port := l.clientHostPort(node)
	env := []string{
		"PATH=" + l.pgBin + ":" + os.Getenv("PATH"),
		"PGHOST=" + host,
		"PGPORT=" + strconv.Itoa(port),
		"PGUSER=postgres",
		"PGDATABASE=postgres",
		"PGDATA=" + l.DataDir(node),
		"HOME=" + l.homeDir,
		"LANG=C", "LC_ALL=C",
	}
	return env
}

// prepareDirs makes the dirs (inside the lab) the server user needs, 0755,
// and hands them over.
func (l *Local) prepareDirs(dirs ...string) error {
	for _, d := range dirs {
		if err := l.prepareDir(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// prepareDir makes d with perm, the server user's (see Lab.MkdirAll).
func (l *Local) prepareDir(d string, perm os.FileMode) error {
	uid, gid := -1, -1
	if l.runAs != nil {
		uid, gid = int(l.runAs.Uid), int(l.runAs.Gid)
	}
	return l.lab.MkdirAll(d, perm, uid, gid)
}

// PrepareDataDir implements DataDirPreparer: the data dir, 0700, the
// server user's, made fd-relative without following a link.
func (l *Local) PrepareDataDir(node Node) error { return l.prepareDir(l.DataDir(node), 0o700) }

func (l *Local) command(ctx context.Context, node Node, asServer bool, argv []string, out io.Writer) *exec.Cmd {
	name := argv[0]
	// exec resolves a bare name with walstep's own PATH, not cmd.Env's:
	// take PostgreSQL programs (psql, pg_controldata...) from --pg-bin.
	if !strings.Contains(name, "/") {
		if _, err := os.Stat(l.bin(name)); err == nil {
			name = l.bin(name)
		}
	}
	var cmd *exec.Cmd
	if ctx != nil {
		cmd = exec.CommandContext(ctx, name, argv[1:]...)
	} else {
		cmd = exec.Command(name, argv[1:]...)
	}
	cmd.Env = l.env(node)
	cmd.Dir = l.lab.Dir
	cmd.Stdout, cmd.Stderr = out, out
	// Own session (and so process group): the terminal's Ctrl-C must not
	// reach the servers (walstep decides how they stop), a cancel kills the
	// whole group, and what a command leaves is found by its session.
	attr := &syscall.SysProcAttr{Setsid: true}
	if asServer && l.runAs != nil {
		attr.Credential = l.runAs
	}
	cmd.SysProcAttr = attr
	if ctx != nil {
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 5 * time.Second
	}
	return cmd
}

func (l *Local) bin(name string) string { return filepath.Join(l.pgBin, name) }

// Init implements Backend (seed step 1).
func (l *Local) Init(ctx context.Context, node Node, out io.Writer) error {
	if err := l.prepareDirs(l.homeDir); err != nil {
		return err
	}
	dd := l.DataDir(node)
	if err := l.prepareDir(dd, 0o700); err != nil {
		return err
	}
	argv := append([]string{l.bin("initdb"), "-D", dd, "--username=postgres"}, initdbAuth...)
	fmt.Fprintf(out, "$ %s\n", strings.Join(argv, " "))
	if err := l.runCmd(ctx, l.command(ctx, node, true, argv, out)); err != nil {
		return fmt.Errorf("run initdb: %w", err)
	}
	return nil
}
