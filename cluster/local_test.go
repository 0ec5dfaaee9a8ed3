package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// localWait bounds every wait on a real server in these tests.
const localWait = 60 * time.Second

// localCtx is a test ctx with a deadline, so a hang fails instead of
// blocking the suite.
func localCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*localWait)
	t.Cleanup(cancel)
	return ctx
}

// localLab makes a lab the postgres user can reach (os.MkdirTemp, chmod
// 0755: t.TempDir's parents are 0700) and a Local backend over it. Cleanup
// stops the servers and removes the lab.
func localLab(t *testing.T) (*Lab, *Local) {
	t.Helper()
	if _, err := FindPGBin(""); err != nil {
		t.Skipf("no PostgreSQL binaries: %v", err)
	}
	base, err := os.MkdirTemp("", "walstep-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	lab, err := InitLab(filepath.Join(base, "lab"))
	if err != nil {
		os.RemoveAll(base)
		t.Fatal(err)
	}
	if err := os.Chmod(lab.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := NewLocal(LocalOptions{Lab: lab, StopTimeout: 20 * time.Second})
	if err != nil {
		os.RemoveAll(base)
		t.Fatalf("NewLocal: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), localWait)
		defer cancel()
		if err := l.Close(ctx, true); err != nil {
			t.Errorf("Close: %v", err)
		}
		os.RemoveAll(base)
	})
	return lab, l
}

// localStarted runs initdb for node, starts it and waits until it accepts
// connections.
func localStarted(t *testing.T, ctx context.Context, l *Local, node Node) {
	t.Helper()
	var out bytes.Buffer
	if err := l.Init(ctx, node, &out); err != nil {
		t.Fatalf("Init %s: %v\n%s", node, err, out.String())
	}
	if err := l.Start(ctx, node, &out); err != nil {
		t.Fatalf("Start %s: %v\n%s", node, err, out.String())
	}
	res, st, err := WaitReady(ctx, l, node, localWait)
	if err != nil || res != Accepting {
		lines, _ := l.LogTail(ctx, node, 30)
		t.Fatalf("WaitReady %s: res %v state %+v err %v\nlog:\n%s", node, res, st, err, strings.Join(lines, "\n"))
	}
}

// localProcs lists live processes (not zombies) whose command line
// contains sub or whose process group is pgid (when pgid > 0).
func localProcs(sub string, pgid int) []string {
	var found []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 3 || fields[0] == "Z" {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		cl := strings.ReplaceAll(string(cmdline), "\x00", " ")
		pg, _ := strconv.Atoi(fields[2])
		if (sub != "" && strings.Contains(cl, sub)) || (pgid > 0 && pg == pgid) {
			found = append(found, fmt.Sprintf("%d %s", pid, cl))
		}
	}
	return found
}

// localNoProcs waits (with a deadline) until localProcs finds nothing.
func localNoProcs(t *testing.T, ctx context.Context, sub string, pgid int) {
	t.Helper()
	var left []string
	err := Until(ctx, 15*time.Second, "processes to exit", func(context.Context) (bool, error) {
		left = localProcs(sub, pgid)
		return len(left) == 0, nil
	})
	if err != nil {
		t.Fatalf("processes left behind: %v\n%s", err, strings.Join(left, "\n"))
	}
}

func TestFindPGBin(t *testing.T) {
	_, err := FindPGBin(filepath.Join(t.TempDir(), "no-such-bin"))
	if err == nil || !strings.Contains(err.Error(), "--pg-bin") || !strings.Contains(err.Error(), "no postgres binary") {
		t.Fatalf("bad --pg-bin: %v", err)
	}
	dir, err := FindPGBin("")
	if err != nil {
		t.Skipf("no PostgreSQL binaries here: %v", err)
	}
	if !filepath.IsAbs(dir) {
		t.Fatalf("found %q, not absolute", dir)
	}
	for _, b := range requiredBins {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			t.Fatalf("found %s without %s", dir, b)
		}
	}
	// An explicit good dir, given relatively, comes back absolute.
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := FindPGBin(rel)
	if err != nil || got != dir {
		t.Fatalf("FindPGBin(%q) = %q, %v; want %q", rel, got, err, dir)
	}
	// With no pg_ctl on PATH it falls back to /usr/lib/postgresql/*/bin.
	if ds, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres"); len(ds) > 0 {
		t.Setenv("PATH", t.TempDir())
		got, err := FindPGBin("")
		if err != nil || !strings.HasPrefix(got, "/usr/lib/postgresql/") {
			t.Fatalf("fallback: %q, %v", got, err)
		}
	}
}

func TestLocalNewAndCheck(t *testing.T) {
	lab, l := localLab(t)
	ctx := localCtx(t)
	if err := l.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if l.Name() != "local" || l.PGBin() == "" {
		t.Fatalf("name %q bin %q", l.Name(), l.PGBin())
	}
	if l.Port(Primary) == l.Port(Replica) || l.Port(Primary) == 0 {
		t.Fatalf("ports %d %d", l.Port(Primary), l.Port(Replica))
	}
	if l.DataDir(Primary) != lab.Path(PrimaryData) || l.DataDir(Replica) != lab.Path(ReplicaData) {
		t.Fatal("data dirs not in the lab")
	}
	p := l.Paths(Replica)
	if p.PrimaryHost != "127.0.0.1" || p.PrimaryPort != strconv.Itoa(l.Port(Primary)) || p.Storage != lab.Path(StorageDir) {
		t.Fatalf("paths %+v", p)
	}
	if !strings.Contains(l.ConnString(Primary), "port="+strconv.Itoa(l.Port(Primary))) || l.Addr(Replica) != fmt.Sprintf("127.0.0.1:%d", l.Port(Replica)) {
		t.Fatalf("conn %q addr %q", l.ConnString(Primary), l.Addr(Replica))
	}

	_, err := NewLocal(LocalOptions{Lab: lab, PGBin: filepath.Join(lab.Dir, "nope")})
	if err == nil || !strings.Contains(err.Error(), "--pg-bin") {
		t.Fatalf("NewLocal with a bad --pg-bin: %v", err)
	}

	// A pg-bin dir with postgres but without the other programs.
	partial := t.TempDir()
	if err := os.WriteFile(filepath.Join(partial, "postgres"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	lp, err := NewLocal(LocalOptions{Lab: lab, PGBin: partial})
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.Check(ctx); err == nil || !strings.Contains(err.Error(), "initdb not found") {
		t.Fatalf("Check with missing binaries: %v", err)
	}
}

func TestLocalCheckUnreachableLab(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs the servers as another user")
	}
	// t.TempDir's parents are 0700: the postgres user cannot get in.
	lab, err := InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLocal(LocalOptions{Lab: lab})
	if err != nil {
		t.Skipf("NewLocal: %v", err)
	}
	err = l.Check(localCtx(t))
	if err == nil || !strings.Contains(err.Error(), "cannot reach the lab") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Check of an unreachable lab: %v", err)
	}
}

func TestLocalLifecycle(t *testing.T) {
	lab, l := localLab(t)
	ctx := localCtx(t)

	// Before initdb: not running, and Start says why it cannot.
	if st, err := l.State(ctx, Primary); err != nil || st.Exists || st.Running {
		t.Fatalf("state before init: %+v %v", st, err)
	}
	if err := l.Start(ctx, Primary, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "holds no database") {
		t.Fatalf("Start before Init: %v", err)
	}
	var out bytes.Buffer
	if err := l.Stop(ctx, Primary, &out); err != nil || !strings.Contains(out.String(), "not running") {
		t.Fatalf("Stop of a server never started: %v %q", err, out.String())
	}

	localStarted(t, ctx, l, Primary)
	dd := l.DataDir(Primary)
	if os.Geteuid() == 0 {
		var fst syscall.Stat_t
		if err := syscall.Stat(dd, &fst); err != nil || fst.Uid == 0 {
			t.Fatalf("data dir owned by uid %d (%v), want the postgres user", fst.Uid, err)
		}
	}
	st, err := l.State(ctx, Primary)
	if err != nil || !st.Exists || !st.Running || !strings.HasPrefix(st.Detail, "pid ") {
		t.Fatalf("state while running: %+v %v", st, err)
	}
	pid := PostmasterPID(dd)
	if pid <= 0 || st.Detail != fmt.Sprintf("pid %d", pid) {
		t.Fatalf("postmaster pid %d, state %q", pid, st.Detail)
	}

	// Start again: nothing new, says it is running.
	out.Reset()
	if err := l.Start(ctx, Primary, &out); err != nil || !strings.Contains(out.String(), "already running") {
		t.Fatalf("second Start: %v %q", err, out.String())
	}
	if PostmasterPID(dd) != pid {
		t.Fatal("a second Start started another postmaster")
	}

	// Exec psql as postgres reaches this node's server.
	out.Reset()
	if err := l.Exec(ctx, Primary, "postgres", []string{"psql", "-X", "-At", "-c", "select 40+2, current_user, inet_server_port()"}, &out); err != nil {
		t.Fatalf("Exec psql: %v\n%s", err, out.String())
	}
	want := fmt.Sprintf("42|postgres|%d", l.Port(Primary))
	if !slices.Contains(strings.Split(out.String(), "\n"), want) {
		t.Fatalf("psql output %q lacks %q", out.String(), want)
	}
	if !strings.HasPrefix(out.String(), "$ psql -X -At -c 'select 40+2") {
		t.Fatalf("Exec does not echo its command: %q", out.String())
	}
	// A failing command is an error; root runs as ourselves.
	out.Reset()
	err = l.Exec(ctx, Primary, "postgres", []string{"sh", "-c", "id -un; exit 3"}, &out)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("Exec of a failing command: %v", err)
	}
	if os.Geteuid() == 0 && !strings.Contains(out.String(), "\npostgres\n") {
		t.Fatalf("Exec as postgres ran as %q", out.String())
	}
	if err := l.Exec(ctx, Primary, "root", nil, &out); err == nil {
		t.Fatal("Exec of an empty command")
	}

	lines, err := l.LogTail(ctx, Primary, 100)
	if err != nil || !slices.ContainsFunc(lines, func(s string) bool { return strings.Contains(s, "ready to accept connections") }) {
		t.Fatalf("LogTail: %v\n%s", err, strings.Join(lines, "\n"))
	}
	if l.LogPath(Primary) != lab.Path(LogsDir, "primary.log") {
		t.Fatalf("log path %s", l.LogPath(Primary))
	}

	out.Reset()
	if err := l.Stop(ctx, Primary, &out); err != nil {
		t.Fatalf("Stop: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "primary stopped") {
		t.Fatalf("Stop output %q", out.String())
	}
	st, err = l.State(ctx, Primary)
	if err != nil || !st.Exists || st.Running || st.ExitCode != 0 || st.Detail != "exited with code 0" {
		t.Fatalf("state after Stop: %+v %v", st, err)
	}
	if PostmasterPID(dd) != 0 {
		t.Fatal("postmaster still alive after Stop")
	}
	cd, err := l.ControlData(ctx, Primary)
	if err != nil || !localHasField(cd, "Database cluster state:", "shut down") {
		t.Fatalf("ControlData after stop: %v\n%s", err, cd)
	}
	lines, _ = l.LogTail(ctx, Primary, 5)
	if !slices.ContainsFunc(lines, func(s string) bool { return strings.Contains(s, "database system is shut down") }) {
		t.Fatalf("log after stop:\n%s", strings.Join(lines, "\n"))
	}
	// ControlData of a dir with no database: an error, not a hang.
	if _, err := l.ControlData(ctx, Replica); err == nil {
		t.Fatal("ControlData of a missing data dir")
	}
}

func localHasField(text, key, val string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, key) && strings.TrimSpace(strings.TrimPrefix(l, key)) == val {
			return true
		}
	}
	return false
}

func TestLocalPortInUse(t *testing.T) {
	_, l := localLab(t)
	ctx := localCtx(t)
	// Start checks the port before launching postgres; a PG_VERSION is
	// enough to get there without an initdb.
	if err := l.prepareDirs(l.DataDir(Primary)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(l.DataDir(Primary), "PG_VERSION"), []byte("15\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", l.Addr(Primary))
	if err != nil {
		t.Fatalf("occupy %s: %v", l.Addr(Primary), err)
	}
	defer ln.Close()
	err = l.Start(ctx, Primary, &bytes.Buffer{})
	if err == nil {
		t.Fatal("Start on a busy port succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "in use") || !strings.Contains(msg, strconv.Itoa(l.Port(Primary))) || strings.Contains(msg, "\n") {
		t.Fatalf("busy port error %q", msg)
	}
	if st, _ := l.State(ctx, Primary); st.Running || st.Exists {
		t.Fatalf("state after a refused start: %+v", st)
	}
}

func TestLocalKilledServer(t *testing.T) {
	_, l := localLab(t)
	ctx := localCtx(t)
	localStarted(t, ctx, l, Primary)
	pid := PostmasterPID(l.DataDir(Primary))
	if pid <= 0 {
		t.Fatal("no postmaster pid")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st, err := WaitExited(ctx, l, Primary, localWait)
	if err != nil {
		t.Fatalf("WaitExited after SIGKILL: %v", err)
	}
	if !st.Exists || st.Running || !strings.Contains(st.Detail, "killed") || !strings.Contains(st.Detail, "9") && !strings.Contains(strings.ToLower(st.Detail), "sigkill") {
		t.Fatalf("state after SIGKILL: %+v", st)
	}
	// WaitReady reports an exit, not a hang.
	res, _, err := WaitReady(ctx, l, Primary, localWait)
	if err != nil || res != Exited {
		t.Fatalf("WaitReady on a killed server: %v %v", res, err)
	}
	// Its backends notice the postmaster's death and go.
	localNoProcs(t, ctx, "", pid)
	// The stale postmaster.pid does not block a restart.
	if PostmasterPID(l.DataDir(Primary)) != 0 {
		t.Fatal("PostmasterPID reports a dead pid")
	}
	var out bytes.Buffer
	if err := l.Start(ctx, Primary, &out); err != nil {
		t.Fatalf("restart after SIGKILL: %v\n%s", err, out.String())
	}
	if res, _, err := WaitReady(ctx, l, Primary, localWait); err != nil || res != Accepting {
		t.Fatalf("restart after SIGKILL: %v %v", res, err)
	}
}

// A server kept running by an earlier session (quit with "leave them
// running", or run --keep-running) is reached by a new session on the port
// it listens on: the panel polls it and F1's wait for it succeeds, instead
// of "connection refused" on the new session's own port until a deadline.
func TestLocalNewSessionReachesKeptServer(t *testing.T) {
	lab, l := localLab(t)
	ctx := localCtx(t)
	localStarted(t, ctx, l, Primary)
	if err := l.Close(ctx, false); err != nil {
		t.Fatal(err)
	}
	l2, err := NewLocal(LocalOptions{Lab: lab, StopTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l2.Close(context.Background(), true) })
	if got, want := l2.Addr(Primary), l.Addr(Primary); got != want {
		t.Errorf("new session's address of the kept primary: %s, want %s", got, want)
	}
	if got, want := l2.Paths(Replica).PrimaryPort, strings.TrimPrefix(l.Addr(Primary), "127.0.0.1:"); got != want {
		t.Errorf("primary port for the replica's conninfo: %s, want %s", got, want)
	}
	res, _, err := WaitReady(ctx, l2, Primary, 5*time.Second)
	if err != nil || res != Accepting {
		t.Fatalf("new session's wait for the kept primary: %v %v", res, err)
	}
	// Once stopped, the new session starts it again (on that port or another).
	if err := l2.Stop(ctx, Primary, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if err := l2.Start(ctx, Primary, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if res, _, err := WaitReady(ctx, l2, Primary, localWait); err != nil || res != Accepting {
		t.Fatalf("restart from the new session: %v %v", res, err)
	}
}

// StopPID returns once the process has exited, even when nobody reaps it
// yet: a server kept by an earlier session belongs to PID 1, which may reap
// late (2 s per server here) or never, and stopping it must not wait out
// its whole timeout for a zombie.
func TestStopPIDZombieIsStopped(t *testing.T) {
	cmd := exec.Command("sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait() // reaped only at the end: a zombie meanwhile
	start := time.Now()
	if err := StopPID(context.Background(), cmd.Process.Pid, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("StopPID took %s for a process that exited at once", d.Round(time.Millisecond))
	}
	if processAlive(cmd.Process.Pid) {
		t.Error("an exited, unreaped process counts as alive")
	}
}

func TestLocalCloseStopsServers(t *testing.T) {
	lab, l := localLab(t)
	ctx := localCtx(t)
	localStarted(t, ctx, l, Primary)
	pid := PostmasterPID(l.DataDir(Primary))

	// Close without stopping keeps the server running.
	if err := l.Close(ctx, false); err != nil {
		t.Fatal(err)
	}
	if st, _ := l.State(ctx, Primary); !st.Running {
		t.Fatalf("Close(false) stopped the server: %+v", st)
	}
	// A later session over the same lab sees it, and stops it.
	l2, err := NewLocal(LocalOptions{Lab: lab, StopTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := l2.State(ctx, Primary); !st.Running || !strings.Contains(st.Detail, "not started by this session") {
		t.Fatalf("a new session's view of a kept server: %+v", st)
	}
	if err := l2.Close(ctx, true); err != nil {
		t.Fatalf("Close(true) from a new session: %v", err)
	}
	localNoProcs(t, ctx, lab.Dir, pid)

	// And Close(true) of the session that started it.
	if err := l.Start(ctx, Primary, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := WaitReady(ctx, l, Primary, localWait); err != nil {
		t.Fatal(err)
	}
	pid = PostmasterPID(l.DataDir(Primary))
	if len(localProcs(lab.Dir, 0)) == 0 {
		t.Fatal("the process scan does not see the running server: the check below would prove nothing")
	}
	if err := l.Close(ctx, true); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close waits for the exit: nothing is left at once.
	if left := localProcs(lab.Dir, 0); len(left) > 0 {
		t.Fatalf("postgres left after Close:\n%s", strings.Join(left, "\n"))
	}
	localNoProcs(t, ctx, lab.Dir, pid)
}

func TestTailFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	check := func(what string, got []string, err error, want []string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !slices.Equal(got, want) {
			if len(got) > 6 || len(want) > 6 {
				t.Fatalf("%s: got %d lines (first %.40q), want %d (first %.40q)", what, len(got), localFirst(got), len(want), localFirst(want))
			}
			t.Fatalf("%s: got %q, want %q", what, got, want)
		}
	}

	got, err := TailFile(filepath.Join(dir, "missing"), 10)
	check("missing file", got, err, nil)
	got, err = TailFile(write("empty", ""), 10)
	check("empty file", got, err, nil)
	got, err = TailFile(write("nonl", "a\nb\nc"), 10)
	check("no trailing newline", got, err, []string{"a", "b", "c"})
	got, err = TailFile(write("nonl2", "a\nb\nc"), 2)
	check("no trailing newline, n=2", got, err, []string{"b", "c"})
	got, err = TailFile(write("more", "1\n2\n3\n4\n5\n"), 3)
	check("more lines than n", got, err, []string{"3", "4", "5"})
	got, err = TailFile(write("fewer", "1\n2\n"), 30)
	check("fewer lines than n", got, err, []string{"1", "2"})
	if _, err := TailFile(dir, 3); err == nil {
		t.Fatal("TailFile of a directory: no error")
	}

	// Files larger than one 64 KiB chunk: lines cross chunk boundaries.
	for _, lineLen := range []int{1, 99, 100, 4095, 70000} {
		var all []string
		var b strings.Builder
		for i := 0; b.Len() < 200<<10; i++ {
			l := fmt.Sprintf("%07d", i)
			l += strings.Repeat("x", max(0, lineLen-len(l)))
			all = append(all, l)
			b.WriteString(l + "\n")
		}
		for _, trailing := range []bool{true, false} {
			content := b.String()
			if !trailing {
				content = strings.TrimSuffix(content, "\n")
			}
			p := write(fmt.Sprintf("big-%d-%v", lineLen, trailing), content)
			perChunk := (64 << 10) / (lineLen + 1)
			for _, n := range []int{1, 2, perChunk - 1, perChunk, perChunk + 1, perChunk + 2, 2*perChunk + 1, len(all) - 1, len(all), len(all) + 5} {
				if n < 1 {
					continue
				}
				got, err := TailFile(p, n)
				want := all[max(0, len(all)-n):]
				check(fmt.Sprintf("%d-byte lines, trailing newline %v, n=%d", lineLen, trailing, n), got, err, want)
			}
		}
	}
}

func localFirst(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// Exec takes PostgreSQL programs from --pg-bin even when walstep's own PATH
// does not lead to them.
func TestLocalExecUsesPGBin(t *testing.T) {
	_, l := localLab(t)
	ctx := localCtx(t)
	t.Setenv("PATH", "/usr/bin:/bin")
	for _, prog := range []string{"pg_controldata", "psql", "pg_basebackup"} {
		var out bytes.Buffer
		if err := l.Exec(ctx, Primary, "postgres", []string{prog, "-V"}, &out); err != nil {
			t.Fatalf("Exec %s -V: %v\n%s", prog, err, out.String())
		}
		if !strings.Contains(out.String(), "(PostgreSQL)") {
			t.Fatalf("%s -V said %q", prog, out.String())
		}
	}
	// Other programs still come from PATH.
	var out bytes.Buffer
	if err := l.Exec(ctx, Primary, "root", []string{"true"}, &out); err != nil {
		t.Fatalf("Exec true: %v", err)
	}
	if err := l.Exec(ctx, Primary, "root", []string{"no-such-program-walstep"}, &out); err == nil {
		t.Fatal("Exec of a missing program succeeded")
	}
}

// Cancelling an Exec (a step cancelled, Ctrl-C) kills the whole process
// tree promptly: nothing it started is left running.
func TestLocalExecCancelKillsTree(t *testing.T) {
	lab, l := localLab(t)
	pidFile := lab.Path(RunDir, "exec.pid")
	if err := l.prepareDirs(lab.Path(RunDir)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(localCtx(t))
	done := make(chan error, 1)
	go func() { // joined below through done
		done <- l.Exec(ctx, Primary, "postgres", []string{"sh", "-c", `echo $$ > "$1"; sleep 300 & sleep 300`, "sh", pidFile}, &bytes.Buffer{})
	}()
	var pgid int
	err := Until(localCtx(t), localWait, "the command to start", func(context.Context) (bool, error) {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return false, nil
		}
		pgid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil, nil
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if len(localProcs("", pgid)) < 2 {
		t.Fatalf("expected sh and its sleeps in group %d: %q", pgid, localProcs("", pgid))
	}
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "context canceled") {
			t.Fatalf("cancelled Exec returned %v", err)
		}
	case <-time.After(localWait):
		t.Fatal("Exec did not return after its ctx was cancelled")
	}
	localNoProcs(t, localCtx(t), "", pgid)
}
