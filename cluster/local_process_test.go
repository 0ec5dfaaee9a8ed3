package cluster

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

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
	if got, want := l2.Paths(Primary).Port, strings.TrimPrefix(l.Addr(Primary), "127.0.0.1:"); got != want {
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
