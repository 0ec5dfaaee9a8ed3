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
)

// LocalOptions configure the local-process backend.
type LocalOptions struct {
	Lab   *Lab
	PGBin string // directory of initdb, postgres, pg_ctl...; "" finds one
	// StopTimeout bounds a fast shutdown before escalating; 0 means 60s.
	StopTimeout time.Duration
}

// Local runs the two servers as postgres processes on free 127.0.0.1 ports,
// with data dirs and logs inside the lab. When walstep runs as root the
// servers run as the postgres user, because initdb refuses root.
type Local struct {
	lab     *Lab
	pgBin   string
	stopTO  time.Duration
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

// NewLocal makes a local backend; it picks two free loopback ports.
func NewLocal(opts LocalOptions) (*Local, error) {
	bin, err := FindPGBin(opts.PGBin)
	if err != nil {
		return nil, err
	}
	l := &Local{lab: opts.Lab, pgBin: bin, stopTO: opts.StopTimeout, ports: map[Node]int{}, procs: map[Node]*localProc{}}
	if l.stopTO == 0 {
		l.stopTO = 60 * time.Second
	}
	l.homeDir = opts.Lab.Path(RunDir, "home")
	l.walgBin = "wal-g"
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
	for _, n := range Nodes {
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
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
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
		Config:      ConfigLink,
		Storage:     l.lab.Path(StorageDir),
		WalgConfig:  l.lab.Path(RunDir, WalgJSON),
		WalgBin:     l.walgBin,
		PrimaryHost: "127.0.0.1",
		PrimaryPort: strconv.Itoa(l.ports[Primary]),
		Owner:       l.owner,
	}
}

// ConfigLink is the symlink in each local data dir that stands for the
// seed's /custom-pg-configs mount; include_dir names it relatively.
const ConfigLink = "custom-pg-configs"

// ConfigDir is the node's include_dir target on the host.
func (l *Local) ConfigDir(node Node) string {
	if node == Replica {
		return l.lab.Path(ReplicaConfig)
	}
	return l.lab.Path(PrimaryConfig)
}

// linkConfig points dataDir/custom-pg-configs at the node's own config dir,
// replacing the primary's link that a restored backup carries.
func (l *Local) linkConfig(node Node) error {
	link := filepath.Join(l.DataDir(node), ConfigLink)
	if st, err := os.Lstat(link); err == nil {
		if st.Mode()&os.ModeSymlink == 0 {
			return fmt.Errorf("start %s: %s is not a symlink: remove it", node, link)
		}
		if err := os.Remove(link); err != nil {
			return fmt.Errorf("relink config dir: %w", err)
		}
	}
	if err := os.Symlink(l.ConfigDir(node), link); err != nil {
		return fmt.Errorf("link config dir: %w", err)
	}
	return nil
}

// SetWalgBin makes Paths report bin as the wal-g binary.
func (l *Local) SetWalgBin(bin string) { l.walgBin = bin }

// DataDir implements Backend.
func (l *Local) DataDir(node Node) string {
	if node == Replica {
		return l.lab.Path(ReplicaData)
	}
	return l.lab.Path(PrimaryData)
}

// Port is the node's loopback port.
func (l *Local) Port(node Node) int { return l.ports[node] }

// Addr implements Backend.
func (l *Local) Addr(node Node) string { return fmt.Sprintf("127.0.0.1:%d", l.ports[node]) }

// ConnString implements Backend.
func (l *Local) ConnString(node Node) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres password=postgres dbname=postgres sslmode=disable connect_timeout=2", l.ports[node])
}

// LogPath is the node's server log file.
func (l *Local) LogPath(node Node) string { return l.lab.Path(LogsDir, string(node)+".log") }

func (l *Local) env(node Node) []string {
	env := []string{
		"PATH=" + l.pgBin + ":" + os.Getenv("PATH"),
		"PGHOST=127.0.0.1",
		"PGPORT=" + strconv.Itoa(l.ports[node]),
		"PGUSER=postgres",
		"PGDATABASE=postgres",
		"PGDATA=" + l.DataDir(node),
		"HOME=" + l.homeDir,
		"LANG=C", "LC_ALL=C",
	}
	return env
}

// prepareDirs makes the dirs the server user needs and hands them over.
func (l *Local) prepareDirs(dirs ...string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
		if l.runAs != nil {
			if err := os.Chown(d, int(l.runAs.Uid), int(l.runAs.Gid)); err != nil {
				return fmt.Errorf("hand %s to postgres: %w", d, err)
			}
		}
	}
	return nil
}

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
	// Own process group: the terminal's Ctrl-C must not reach the servers
	// (walstep decides how they stop) and a cancel kills the whole tree.
	attr := &syscall.SysProcAttr{Setpgid: true}
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
	if err := l.prepareDirs(dd); err != nil {
		return err
	}
	if err := os.Chmod(dd, 0o700); err != nil {
		return fmt.Errorf("chmod data dir: %w", err)
	}
	argv := []string{l.bin("initdb"), "-D", dd, "--username=postgres"}
	fmt.Fprintf(out, "$ %s\n", strings.Join(argv, " "))
	if err := l.command(ctx, node, true, argv, out).Run(); err != nil {
		return fmt.Errorf("run initdb: %w", err)
	}
	return nil
}

// Start implements Backend: launches postgres with its output appended to
// logs/<node>.log. It does not wait for readiness.
func (l *Local) Start(ctx context.Context, node Node, out io.Writer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.procs[node]; p != nil && !p.exited() {
		fmt.Fprintf(out, "%s is already running (pid %d)\n", node, p.cmd.Process.Pid)
		return nil
	}
	if pid := PostmasterPID(l.DataDir(node)); pid > 0 {
		return fmt.Errorf("start %s: a postgres (pid %d) already runs on %s: stop it or run walstep clean", node, pid, l.DataDir(node))
	}
	if _, err := os.Stat(filepath.Join(l.DataDir(node), "PG_VERSION")); err != nil {
		return fmt.Errorf("start %s: %s holds no database (run the steps that create it first)", node, l.DataDir(node))
	}
	if err := l.prepareDirs(l.lab.Path(LogsDir), l.ConfigDir(node), l.homeDir); err != nil {
		return err
	}
	if err := l.linkConfig(node); err != nil {
		return err
	}
	if ln, err := net.Listen("tcp", l.Addr(node)); err != nil {
		return fmt.Errorf("start %s: port %d on 127.0.0.1 is in use: free it or run walstep again (it picks new free ports)", node, l.ports[node])
	} else {
		ln.Close()
	}
	logf, err := os.OpenFile(l.LogPath(node), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open server log: %w", err)
	}
	argv := []string{l.bin("postgres"), "-D", l.DataDir(node),
		"-c", "port=" + strconv.Itoa(l.ports[node]),
		"-c", "listen_addresses=127.0.0.1",
		// No unix socket: lab paths can exceed the socket path limit and
		// everything talks TCP on loopback anyway.
		"-c", "unix_socket_directories=",
	}
	fmt.Fprintf(out, "$ %s\n", strings.Join(argv, " "))
	cmd := l.command(nil, node, true, argv, logf)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", node, err)
	}
	p := &localProc{cmd: cmd, done: make(chan struct{})}
	l.procs[node] = p
	go func() { // owned by the backend: ends when the server exits
		err := cmd.Wait()
		logf.Close()
		p.err = err
		p.code = cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	fmt.Fprintf(out, "%s started (pid %d) on %s\n", node, cmd.Process.Pid, l.Addr(node))
	return nil
}

func (p *localProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop implements Backend: a fast shutdown (SIGINT), escalated to immediate
// (SIGQUIT) and SIGKILL when the timeout passes.
func (l *Local) Stop(ctx context.Context, node Node, out io.Writer) error {
	l.mu.Lock()
	p := l.procs[node]
	l.mu.Unlock()
	if p == nil || p.exited() {
		// A server left running by an earlier walstep (servers kept on quit).
		if pid := PostmasterPID(l.DataDir(node)); pid > 0 {
			fmt.Fprintf(out, "stopping %s left from an earlier session (pid %d)\n", node, pid)
			return StopPID(ctx, pid, l.stopTO)
		}
		fmt.Fprintf(out, "%s is not running\n", node)
		return nil
	}
	pid := p.cmd.Process.Pid
	fmt.Fprintf(out, "stopping %s (pid %d, fast shutdown)\n", node, pid)
	_ = syscall.Kill(pid, syscall.SIGINT)
	for _, sig := range []syscall.Signal{syscall.SIGQUIT, syscall.SIGKILL} {
		t := time.NewTimer(l.stopTO)
		select {
		case <-p.done:
			t.Stop()
			fmt.Fprintf(out, "%s stopped\n", node)
			return nil
		case <-ctx.Done():
			t.Stop()
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-p.done
			return fmt.Errorf("stop %s: %w (killed)", node, ctx.Err())
		case <-t.C:
			fmt.Fprintf(out, "%s did not stop in %s, sending %s\n", node, l.stopTO, sig)
			_ = syscall.Kill(pid, sig)
		}
	}
	<-p.done
	return nil
}

// StopPID stops a postmaster we did not start, by its pid.
func StopPID(ctx context.Context, pid int, to time.Duration) error {
	_ = syscall.Kill(pid, syscall.SIGINT)
	deadline := time.Now().Add(to)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if !processAlive(pid) {
			return nil
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return nil
		}
		select {
		case <-ctx.Done():
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// processAlive reports whether pid runs. A process that exited but was
// not reaped yet (a zombie: a server kept by an earlier session is
// reparented to PID 1, which may reap late or never) counts as gone.
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc: signal 0 is all there is
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2] != 'Z'
	}
	return true
}

// PostmasterPID returns the pid in dataDir/postmaster.pid when that process
// is alive, else 0.
func PostmasterPID(dataDir string) int {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0
	}
	if !processAlive(pid) {
		return 0
	}
	// Make sure the pid is a postgres and not a recycled pid.
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err == nil && !strings.HasPrefix(strings.TrimSpace(string(comm)), "postgres") {
		return 0
	}
	return pid
}

// State implements Backend.
func (l *Local) State(_ context.Context, node Node) (ProcState, error) {
	l.mu.Lock()
	p := l.procs[node]
	l.mu.Unlock()
	if p == nil {
		if pid := PostmasterPID(l.DataDir(node)); pid > 0 {
			return ProcState{Exists: true, Running: true, Detail: fmt.Sprintf("pid %d (not started by this session)", pid)}, nil
		}
		return ProcState{}, nil
	}
	if !p.exited() {
		return ProcState{Exists: true, Running: true, Detail: fmt.Sprintf("pid %d", p.cmd.Process.Pid)}, nil
	}
	return ProcState{Exists: true, ExitCode: p.code, Detail: exitDetail(p.cmd.ProcessState)}, nil
}

func exitDetail(ps *os.ProcessState) string {
	if ps == nil {
		return "exited"
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("killed by signal %d (%s)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Sprintf("exited with code %d", ps.ExitCode())
}

// Exec implements Backend. "root" runs as walstep's own user (only root
// can be root here); "postgres" runs as the server user.
func (l *Local) Exec(ctx context.Context, node Node, usr string, argv []string, out io.Writer) error {
	if len(argv) == 0 {
		return errors.New("exec: empty command")
	}
	if err := l.prepareDirs(l.homeDir); err != nil {
		return err
	}
	fmt.Fprintf(out, "$ %s\n", shellJoin(argv))
	cmd := l.command(ctx, node, usr != "root", argv, out)
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("run %s: %w", argv[0], ctx.Err())
		}
		return fmt.Errorf("run %s: %w", argv[0], err)
	}
	return nil
}

func shellJoin(argv []string) string {
	var parts []string
	for _, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$&|;<>()*?") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// LogTail implements Backend.
func (l *Local) LogTail(_ context.Context, node Node, n int) ([]string, error) {
	return TailFile(l.LogPath(node), n)
}

// ControlData implements Backend.
func (l *Local) ControlData(ctx context.Context, node Node) (string, error) {
	cmd := exec.CommandContext(ctx, l.bin("pg_controldata"), "-D", l.DataDir(node))
	cmd.Env = []string{"LANG=C", "LC_ALL=C"}
	b, err := cmd.CombinedOutput()
	if err != nil {
		return string(b), fmt.Errorf("run pg_controldata: %w: %s", err, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// RemoveAll implements Backend.
func (l *Local) RemoveAll(_ context.Context, p string) error { return os.RemoveAll(p) }

// Shell implements Backend: the user's shell in the data dir, with the
// node's PG* variables set so psql reaches that server.
func (l *Local) Shell(node Node) ([]string, string) {
	sh := os.Getenv("SHELL")
	if sh == "" {
		sh = "/bin/sh"
	}
	return []string{"env", "PGHOST=127.0.0.1", "PGPORT=" + strconv.Itoa(l.ports[node]), "PGUSER=postgres", "PATH=" + l.pgBin + ":" + os.Getenv("PATH"), sh}, l.DataDir(node)
}

// Close implements Backend.
func (l *Local) Close(ctx context.Context, stopServers bool) error {
	if !stopServers {
		return nil
	}
	var errs []error
	for _, n := range Nodes {
		if err := l.Stop(ctx, n, io.Discard); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
