package pg

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"walstep/cluster"
)

// pgLab is a lab with a local backend whose servers the tests start.
type pgLab struct {
	lab     *cluster.Lab
	b       *cluster.Local
	storage string
}

// newPGLab makes a lab the postgres user can traverse (the local backend
// runs the servers as postgres when the tests run as root) and stops its
// servers at cleanup. It skips when PostgreSQL's binaries are missing.
func newPGLab(tb testing.TB) *pgLab {
	tb.Helper()
	if _, err := cluster.FindPGBin(""); err != nil {
		tb.Skip("no PostgreSQL server binaries (apt-get install postgresql-15)")
	}
	dir, err := os.MkdirTemp("", "walstep-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	lab, err := cluster.InitLab(filepath.Join(dir, "lab"))
	if err != nil {
		tb.Fatal(err)
	}
	b, err := cluster.NewLocal(cluster.LocalOptions{Lab: lab, StopTimeout: 10 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	if err := b.Check(context.Background()); err != nil {
		tb.Skip(err.Error())
	}
	tb.Cleanup(func() { // runs before the RemoveAll above
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Close(ctx, true); err != nil {
			tb.Errorf("stop servers: %v", err)
		}
	})
	return &pgLab{lab: lab, b: b, storage: lab.Path(cluster.StorageDir)}
}

// startPrimary runs initdb and starts the primary, waiting until it
// accepts connections.
func (l *pgLab) startPrimary(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	var out bytes.Buffer
	if err := l.b.Init(ctx, cluster.Primary, &out); err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out.String())
	}
	l.start(tb, cluster.Primary)
}

func (l *pgLab) start(tb testing.TB, node cluster.Node) {
	tb.Helper()
	ctx := context.Background()
	var out bytes.Buffer
	if err := l.b.Start(ctx, node, &out); err != nil {
		tb.Fatalf("start %s: %v\n%s", node, err, out.String())
	}
	res, st, err := cluster.WaitReady(ctx, l.b, node, 60*time.Second)
	if err != nil || res != cluster.Accepting {
		tail, _ := l.b.LogTail(ctx, node, 20)
		tb.Fatalf("%s not ready (%v, %s): %v\n%s", node, res, st.Detail, err, strings.Join(tail, "\n"))
	}
}

// startStandby clones the running primary with pg_basebackup -R into the
// replica's data dir (creating slot "replica") and starts it as a
// streaming standby.
func (l *pgLab) startStandby(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	p := l.b.Paths(cluster.Replica)
	var out bytes.Buffer
	// Over TCP the servers ask for a password (scram), as in the seed.
	script := `set -e
psql -X -q -c "alter user postgres password 'postgres'"
PGPASSWORD=postgres pg_basebackup -D "$1" -X stream -R -C -S replica -h 127.0.0.1 -p "$2" -U postgres
chown -R "$3" "$1"
chmod 700 "$1"`
	argv := []string{"sh", "-c", script, "sh", p.Data, l.b.Paths(cluster.Primary).Port, p.Owner}
	if err := l.b.Exec(ctx, cluster.Primary, "root", argv, &out); err != nil {
		tb.Fatalf("clone the primary: %v\n%s", err, out.String())
	}
	l.start(tb, cluster.Replica)
}

// pollUntil polls until cond holds for the snapshot, or fails at the
// deadline with the last snapshot.
func pollUntil(tb testing.TB, p *Poller, timeout time.Duration, what string, cond func(Snapshot) bool) Snapshot {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s := p.Poll(context.Background())
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no %s after %s; primary: %s (%s); replica: %s (%s)", what, timeout,
				s.Nodes[0].Summary(), s.Nodes[0].Err, s.Nodes[1].Summary(), s.Nodes[1].Err)
		}
		<-tick.C
	}
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs real PostgreSQL servers")
	}
}

func exec1(t *testing.T, l *pgLab, node cluster.Node, sql string, dest ...any) {
	t.Helper()
	if err := cluster.QueryRow(context.Background(), l.b.ConnString(node), sql, dest...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestPollRunningPrimaryAndStandby(t *testing.T) {
	skipShort(t)
	l := newPGLab(t)
	l.startPrimary(t)
	p := NewPoller(l.b, PollerOptions{LogLines: 5})
	defer p.Close()

	s := p.Poll(context.Background())
	pr := s.Nodes[0]
	if !pr.Up || pr.Process != ProcUp || pr.Role != RolePrimary || pr.InRecovery || pr.Err != "" {
		t.Fatalf("primary reads %q: up=%v process=%q role=%q in_recovery=%v err=%q", pr.Summary(), pr.Up, pr.Process, pr.Role, pr.InRecovery, pr.Err)
	}
	if pr.Timeline != 1 || pr.TLISource != SrcCurrentWAL {
		t.Errorf("primary timeline %d from %q, want 1 from %q", pr.Timeline, pr.TLISource, SrcCurrentWAL)
	}
	var flushNow string
	exec1(t, l, cluster.Primary, "select pg_current_wal_flush_lsn()::text", &flushNow)
	now, err := ParseLSN(flushNow)
	if err != nil {
		t.Fatal(err)
	}
	if !pr.FlushLSN.Valid() || pr.FlushLSN > now || pr.FlushLSN < 0x1000000 {
		t.Errorf("primary flush LSN %s: want valid, past segment 1 and at most the flush position read after it (%s)", pr.FlushLSN, now)
	}
	if got, want := WALFileName(pr.Timeline, pr.FlushLSN)[:8], "00000001"; got != want {
		t.Errorf("flush LSN's WAL file on timeline %s, want %s", got, want)
	}
	if len(pr.LogTail) == 0 || len(pr.LogTail) > 5 {
		t.Errorf("primary log tail has %d lines, want 1..5 (LogLines)", len(pr.LogTail))
	}
	if s.Nodes[1].Process != ProcNone || s.Nodes[1].Up {
		t.Errorf("replica without a data dir reads %q (%s), want %q", s.Nodes[1].Process, s.Nodes[1].Summary(), ProcNone)
	}

	// A slot shows up, inactive, with its reserved restart LSN.
	var name string
	exec1(t, l, cluster.Primary, "select slot_name::text from pg_create_physical_replication_slot('walstep_test', true)", &name)
	s = p.Poll(context.Background())
	if len(s.Nodes[0].Slots) != 1 || s.Nodes[0].Slots[0].Name != "walstep_test" || s.Nodes[0].Slots[0].Active || !s.Nodes[0].Slots[0].RestartLSN.Valid() {
		t.Fatalf("slots %+v, want walstep_test inactive with a restart LSN", s.Nodes[0].Slots)
	}

	// A streaming standby: its timeline from the wal receiver, its slot
	// active on the primary.
	l.startStandby(t)
	s = pollUntil(t, p, 30*time.Second, "streaming standby", func(s Snapshot) bool {
		return s.Nodes[1].Role == RoleStreaming
	})
	r := s.Nodes[1]
	if !r.Up || !r.InRecovery || r.Timeline != 1 || r.TLISource != SrcReceiver {
		t.Errorf("standby reads %s (up=%v in_recovery=%v), want up in recovery on timeline 1 from %q", r.Summary(), r.Up, r.InRecovery, SrcReceiver)
	}
	if r.Receiver == nil || r.Receiver.SlotName != "replica" || r.Receiver.SenderPort != l.b.Port(cluster.Primary) || r.Receiver.SenderHost != "127.0.0.1" {
		t.Errorf("wal receiver %+v, want slot replica from 127.0.0.1:%d", r.Receiver, l.b.Port(cluster.Primary))
	}
	// Called streaming only with the primary's side: its walsender, the
	// one holding the slot, in state streaming.
	if !r.Streams() || !strings.Contains(r.Receiver.Proof, "walsender") {
		t.Errorf("standby streams %v with proof %q, want the primary's walsender as proof", r.Streams(), r.Receiver.Proof)
	}
	if ws := s.Nodes[0].WalSenders; len(ws) != 1 || ws[0].State != "streaming" || ws[0].ClientAddr != "127.0.0.1" || !ws[0].SentLSN.Valid() {
		t.Errorf("primary's walsenders %+v, want one streaming to 127.0.0.1", ws)
	}
	if !r.ReplayLSN.Valid() || r.ReplayLSN > s.Nodes[0].FlushLSN+WALSegSize {
		t.Errorf("standby replay %s against primary flush %s", r.ReplayLSN, s.Nodes[0].FlushLSN)
	}
	s = pollUntil(t, p, 30*time.Second, "active slot replica", func(s Snapshot) bool {
		for _, sl := range s.Nodes[0].Slots {
			if sl.Name == "replica" && sl.Active {
				return true
			}
		}
		return false
	})
	if got := fmt.Sprint(s.Nodes[0].Slots); !strings.Contains(got, "{replica true") || !strings.Contains(got, "{walstep_test false") {
		t.Errorf("slots %s, want replica (active) and walstep_test (inactive)", got)
	}
}

// A server restarted between two polls, then stopped: up, then stopped
// with its pg_controldata.
func TestPollStoppedServer(t *testing.T) {
	skipShort(t)
	l := newPGLab(t)
	l.startPrimary(t)
	p := NewPoller(l.b, PollerOptions{})
	defer p.Close()
	if s := p.Poll(context.Background()); !s.Nodes[0].Up {
		t.Fatalf("primary not up before the stop: %s (%s)", s.Nodes[0].Summary(), s.Nodes[0].Err)
	}
	// A restart that no poll saw: the kept connection is stale, the next
	// poll still reads the server as up.
	if err := l.b.Stop(context.Background(), cluster.Primary, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	l.start(t, cluster.Primary)
	if r := p.Poll(context.Background()).Nodes[0]; !r.Up || r.Err != "" || r.Timeline != 1 {
		t.Fatalf("primary restarted between polls reads %s (err %q), want up on timeline 1", r.Summary(), r.Err)
	}
	if err := l.b.Stop(context.Background(), cluster.Primary, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	// Stop returns once the process has exited: the next poll sees it.
	r := p.Poll(context.Background()).Nodes[0]
	if r.Up || r.Process != ProcStopped || r.Err != "" {
		t.Fatalf("stopped primary reads %s: up=%v process=%q err=%q", r.Summary(), r.Up, r.Process, r.Err)
	}
	if r.Control == nil {
		t.Fatal("no pg_controldata for a stopped server")
	}
	if r.Control.State != "shut down" || r.Control.CheckpointTLI != 1 || !r.Control.CheckpointLSN.Valid() {
		t.Errorf("pg_controldata %+v, want state \"shut down\", checkpoint timeline 1", *r.Control)
	}
	if r.Role != RoleShutDown || r.Timeline != 1 || r.TLISource != SrcControl {
		t.Errorf("role %q timeline %d from %q, want %q, 1 from %q", r.Role, r.Timeline, r.TLISource, RoleShutDown, SrcControl)
	}
	if r.LastGood.IsZero() {
		t.Error("last good time lost after the stop")
	}
	if r.Position() != r.Control.CheckpointLSN {
		t.Errorf("position %s, want the checkpoint %s", r.Position(), r.Control.CheckpointLSN)
	}
}

// A server killed with SIGKILL while a poller reads it in a loop: every
// poll returns within its deadline, none panics, and the server ends up
// read as crashed.
func TestPollKilledServer(t *testing.T) {
	skipShort(t)
	l := newPGLab(t)
	l.startPrimary(t)
	pid := cluster.PostmasterPID(l.b.DataDir(cluster.Primary))
	if pid <= 0 {
		t.Fatal("no postmaster pid")
	}
	// The postmaster's children exit on its death; make sure of it.
	t.Cleanup(func() { _ = syscall.Kill(-pid, syscall.SIGKILL) })

	const queryTO = 500 * time.Millisecond
	p := NewPoller(l.b, PollerOptions{QueryTimeout: queryTO})
	defer p.Close()

	type result struct {
		snap Snapshot
		took time.Duration
	}
	results := make(chan result)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // joined through done
		defer close(done)
		defer close(results)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			t0 := time.Now()
			s := p.Poll(ctx)
			cancel()
			select {
			case results <- result{s, time.Since(t0)}:
			case <-stop:
				return
			}
		}
	}()
	defer func() { close(stop); <-done }()

	// Bound per poll: the query timeout (both servers read in parallel),
	// a connect attempt within it, pg_controldata and slack for -race.
	bound := queryTO + 2*time.Second
	next := func() Snapshot {
		t.Helper()
		select {
		case r := <-results:
			if r.took > bound {
				t.Errorf("a poll took %s, over %s", r.took, bound)
			}
			return r.snap
		case <-time.After(bound + 5*time.Second):
			t.Fatal("a poll did not return: the poller hangs on a killed server")
			return Snapshot{}
		}
	}
	if s := next(); !s.Nodes[0].Up {
		t.Fatalf("primary not up before the kill: %s (%s)", s.Nodes[0].Summary(), s.Nodes[0].Err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var r Reading
	polls := 0
	for {
		r = next().Nodes[0]
		polls++
		if r.Process == ProcCrashed || time.Now().After(deadline) {
			break
		}
		if r.Process != ProcUp && r.Process != ProcStarting {
			t.Fatalf("while dying the primary reads %q (%s)", r.Process, r.Summary())
		}
	}
	if r.Process != ProcCrashed {
		t.Fatalf("killed primary reads %q after %d polls (%s), want %q", r.Process, polls, r.Summary(), ProcCrashed)
	}
	if r.Up || r.Err != "" || !strings.Contains(r.ProcDetail, "kill") {
		t.Errorf("killed primary: up=%v err=%q detail=%q, want down, no error, a detail naming the kill", r.Up, r.Err, r.ProcDetail)
	}
	if r.Control == nil || r.Control.State != "in production" || r.Timeline != 1 {
		t.Errorf("killed primary's pg_controldata %+v timeline %d, want \"in production\" on timeline 1", r.Control, r.Timeline)
	}
	t.Logf("read as crashed (%s) after %d polls", r.ProcDetail, polls)
}

func TestPauseStateSQLBefore14UsesIsPaused(t *testing.T) {
	for v, want := range map[string]string{
		"13.16 (Debian 13.16-0+deb11u1)": "pg_is_wal_replay_paused()",
		"15.8":                           "pg_get_wal_replay_pause_state()",
		"17.2 (Debian 17.2-1)":           "pg_get_wal_replay_pause_state()",
		"":                               "pg_get_wal_replay_pause_state()",
	} {
		if got := pauseStateSQL(v); !strings.Contains(got, want) {
			t.Errorf("server_version %q: %s, want it to use %s", v, got, want)
		}
	}
}
