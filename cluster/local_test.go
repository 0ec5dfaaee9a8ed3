package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"walstep/cluster/proctest"
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

// localProcs lists live processes (not zombies) of process group pgid
// (when pgid > 0) and, when sub is given, the postmasters of the lab dir
// sub with their children and what this test's code started whose command
// line names sub.
func localProcs(sub string, pgid int) []string {
	var lists [][]proctest.Proc
	if pgid > 0 {
		lists = append(lists, proctest.InGroup(pgid))
	}
	if sub != "" {
		lists = append(lists, proctest.OfLab(sub), proctest.Mine(sub))
	}
	return proctest.Strings(proctest.Union(lists...))
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
	p := l.Paths(Primary)
	if p.Host != "127.0.0.1" || p.Port != strconv.Itoa(l.Port(Primary)) || p.Storage != lab.Path(StorageDir) {
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
	if err := l.Exec(ctx, Primary, "postgres", []string{"psql", "-X", "-At", "-c", "select 40+2, current_user, current_setting('port')"}, &out); err != nil {
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
