package cluster

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// stallConf makes a fast shutdown stall: the archiver's last round runs an
// archive_command that never returns, and the postmaster waits for it.
const stallConf = "\narchive_mode = on\narchive_command = 'sleep 3600'\n"

// stallShutdown leaves a WAL segment ready to archive on a started server.
func stallShutdown(ctx context.Context, t *testing.T, b Backend, node Node) {
	t.Helper()
	var lsn string
	if err := QueryRow(ctx, b.ConnString(node), "select pg_switch_wal()::text from (select txid_current()) x", &lsn); err != nil {
		t.Fatalf("switch WAL: %v", err)
	}
}

// checkImmediate checks that Stop escalated to an immediate shutdown,
// said so, and that the server is gone.
func checkImmediate(ctx context.Context, t *testing.T, b Backend, node Node) {
	t.Helper()
	var out bytes.Buffer
	if err := b.Stop(ctx, node, &out); err != nil {
		t.Fatalf("stop: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "immediate shutdown (SIGQUIT)") || strings.Contains(out.String(), "SIGKILL") {
		t.Errorf("stop output should say it used an immediate shutdown, not SIGKILL:\n%s", out.String())
	}
	st, err := b.State(ctx, node)
	if err != nil || st.Running {
		t.Errorf("after stop: %+v %v", st, err)
	}
	lines, _ := b.LogTail(ctx, node, 20)
	if !hasLine(lines, "received immediate shutdown request") {
		t.Errorf("the server log shows no immediate shutdown:\n%s", strings.Join(lines, "\n"))
	}
}

// A fast shutdown that makes no progress is escalated to an immediate one
// after a short grace, not after the whole stop timeout.
func TestLocalStopEscalatesStalledShutdown(t *testing.T) {
	_, l := localLab(t)
	l.stopTO = 3 * time.Minute // the escalation must come from the grace
	ctx := localCtx(t)
	var out bytes.Buffer
	if err := l.Init(ctx, Primary, &out); err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	f, err := os.OpenFile(l.DataDir(Primary)+"/postgresql.conf", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(stallConf); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := l.Start(ctx, Primary, &out); err != nil {
		t.Fatalf("start: %v\n%s", err, out.String())
	}
	if res, _, err := WaitReady(ctx, l, Primary, localWait); err != nil || res != Accepting {
		t.Fatalf("WaitReady: %v %v", res, err)
	}
	stallShutdown(ctx, t, l, Primary)
	checkImmediate(ctx, t, l, Primary)
	if pid := PostmasterPID(l.DataDir(Primary)); pid != 0 {
		t.Errorf("postmaster %d still runs", pid)
	}
}

func TestDockerStopEscalatesStalledShutdown(t *testing.T) {
	img := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	d := newTestDockerWith(t, img, func(o *DockerOptions) { o.StopTimeout = 3 * time.Minute })
	var out bytes.Buffer
	if err := d.Init(ctx, Primary, &out); err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	if err := d.Exec(ctx, Primary, "postgres", []string{"sh", "-c", `printf "$1" >> /data/postgresql.conf`, "sh", stallConf}, nil); err != nil {
		t.Fatalf("configure: %v", err)
	}
	if err := d.Start(ctx, Primary, &out); err != nil {
		t.Fatalf("start: %v\n%s", err, out.String())
	}
	waitAccepting(ctx, t, d, Primary)
	stallShutdown(ctx, t, d, Primary)
	checkImmediate(ctx, t, d, Primary)
	if cs, _ := labelled(t, d.lab); len(cs) > 0 {
		t.Errorf("containers left after stop: %v", cs)
	}
}

// walstep clean stops a stalled server the same way, well inside a stop
// timeout longer than the test's deadline.
func TestDockerCleanEscalatesStalledShutdown(t *testing.T) {
	img := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	d := newTestDocker(t, img)
	var out bytes.Buffer
	if err := d.Init(ctx, Primary, &out); err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	if err := d.Exec(ctx, Primary, "postgres", []string{"sh", "-c", `printf "$1" >> /data/postgresql.conf`, "sh", stallConf}, nil); err != nil {
		t.Fatalf("configure: %v", err)
	}
	if err := d.Start(ctx, Primary, &out); err != nil {
		t.Fatalf("start: %v\n%s", err, out.String())
	}
	waitAccepting(ctx, t, d, Primary)
	stallShutdown(ctx, t, d, Primary)
	cctx, ccancel := context.WithTimeout(ctx, 2*time.Minute)
	defer ccancel()
	if err := removeLabelled(cctx, d.cli, d.lab, 10*time.Minute); err != nil {
		t.Fatalf("clean: %v", err)
	}
	if cs, _ := labelled(t, d.lab); len(cs) > 0 {
		t.Errorf("containers left after clean: %v", cs)
	}
}
