package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"walstep/cluster"
	"walstep/pg"
)

// PSQL runs one SQL command through psql on node's server, as postgres.
func PSQL(ctx context.Context, b cluster.Backend, node cluster.Node, sql string, out io.Writer) error {
	if err := b.Exec(ctx, node, "postgres", []string{"psql", "-X", "-v", "ON_ERROR_STOP=1", "-c", sql}, out); err != nil {
		return fmt.Errorf("psql %q: %w", sql, err)
	}
	return nil
}

func fetch(ctx context.Context, env *Env, node cluster.Node, out io.Writer) error {
	name := env.BackupName()
	if name == "" {
		names, err := env.Archiver.ListBackups(ctx, env.Backend, cluster.Primary, env.Lab, io.Discard)
		if err != nil || len(names) == 0 {
			return errors.New("fetch backup: no backup name yet: run step 6 first")
		}
		name = names[len(names)-1]
	}
	return env.Archiver.BackupFetch(ctx, env.Backend, node, name, out)
}

// startReady starts node (unless running) and waits until it has left
// recovery and accepts connections (steps 3 and F1).
func startReady(ctx context.Context, env *Env, node cluster.Node, out io.Writer) error {
	mark := ""
	if st, _ := env.Backend.State(ctx, node); st.Running {
		fmt.Fprintf(out, "%s is already running (%s)\n", node, st.Detail)
	} else {
		mark = lastLine(ctx, env.Backend, node)
		if err := env.Backend.Start(ctx, node, out); err != nil {
			return err
		}
	}
	return settlePrimary(ctx, env, node, out, mark, "")
}

// errPausedAtEnd says a server paused at the end of its recovery
// (recovery_target_action = 'pause'): it stays in recovery until replay
// is resumed or it is promoted.
var errPausedAtEnd = errors.New("paused at the end of recovery")

// settlePrimary waits until node says it is out of recovery (its
// postmaster.pid status turns ready) and only then connects, once, to
// report its timeline. mark is where its log ended before this start.
// Paused at the end of recovery, it fails, unless a hook runs after step
// (which may promote it: no playbook step does): then it says so and is
// done with the primary paused.
func settlePrimary(ctx context.Context, env *Env, node cluster.Node, out io.Writer, mark, step string) error {
	err := settle(ctx, env, node, out, mark)
	if !errors.Is(err, errPausedAtEnd) {
		return err
	}
	if step == "" {
		return fmt.Errorf("%s %w instead of promoting (recovery_target_action = 'pause'; resume it with select pg_wal_replay_resume(), or promote it with select pg_promote())", node, errPausedAtEnd)
	}
	hooks := env.LaterHooks(step)
	if len(hooks) == 0 {
		return fmt.Errorf("%s %w instead of promoting, and no later step or hook promotes it (recovery_target_action = 'pause'; resume it with select pg_wal_replay_resume(), or promote it with select pg_promote(), in a hook after step %s)", node, errPausedAtEnd, step)
	}
	fmt.Fprintf(out, "%s is paused at the end of recovery (recovery_target_action = 'pause'), still in recovery on its old timeline: no step of the playbook promotes it; it waits for a later hook (%s) to promote it (pg_promote()) or resume replay (pg_wal_replay_resume()); step F1 fails if it is still paused then\n", node, strings.Join(hooks, ", "))
	return nil
}

// settle is settlePrimary without the judgement of a pause.
func settle(ctx context.Context, env *Env, node cluster.Node, out io.Writer, mark string) error {
	b := env.Backend
	res, st, err := cluster.WaitReady(ctx, b, node, env.Timeouts.Ready)
	if err != nil {
		return fmt.Errorf("%w%s", err, lastLogHint(ctx, b, node))
	}
	if res == cluster.Exited {
		return fmt.Errorf("%s exited (%s) instead of accepting connections%s", node, st.Detail, lastLogHint(ctx, b, node))
	}
	stuck := func(ctx context.Context) error {
		if _, ok := firstLine(logSince(ctx, b, node, mark), pg.LogLine.PausedAtEnd); ok {
			// Waiting cannot help: it stays in recovery until someone
			// resumes replay.
			return errPausedAtEnd
		}
		return nil
	}
	if err := cluster.WaitPromoted(ctx, b, node, env.Timeouts.Promote, stuck); errors.Is(err, errPausedAtEnd) {
		return err
	} else if err != nil {
		return fmt.Errorf("%w: check primary_restore.conf (recovery_target_action)%s", err, lastLogHint(ctx, b, node))
	}
	var tl string
	_ = cluster.QueryRow(ctx, b.ConnString(node), "select substr(pg_walfile_name(pg_current_wal_lsn()),1,8)", &tl)
	fmt.Fprintf(out, "%s accepts connections, out of recovery (WAL file timeline %s)\n", node, tl)
	return nil
}

// startReplicaToTarget (re)starts the replica with its recovery target
// (step F2) and waits until it has shut down there.
func startReplicaToTarget(ctx context.Context, env *Env, out io.Writer) error {
	b, R := env.Backend, cluster.Replica
	if st, _ := b.State(ctx, R); st.Running {
		fmt.Fprintln(out, "replica is already running; restarting it")
		if err := b.Stop(ctx, R, out); err != nil {
			return err
		}
	}
	mark := lastLine(ctx, b, R)
	if err := b.Start(ctx, R, out); err != nil {
		return err
	}
	return shutdownAtTarget(ctx, env, out, mark)
}

// shutdownAtTarget waits until the replica's process has exited and is
// done only when it exited at its recovery target: exit code 0 and its log
// (since mark) saying "shutdown at recovery target", or pg_controldata
// saying "shut down in recovery". A crash, a config error or a kill fails
// with the reason; so does a replica that promotes or pauses instead.
func shutdownAtTarget(ctx context.Context, env *Env, out io.Writer, mark string) error {
	b, R := env.Backend, cluster.Replica
	var last cluster.ProcState
	err := cluster.Until(ctx, env.Timeouts.Shutdown, "the replica to shut down at its recovery target", func(ctx context.Context) (bool, error) {
		o, err := cluster.Observe(ctx, b, R)
		if err != nil {
			return false, err
		}
		last = o.Proc
		if !o.Proc.Running {
			return true, nil
		}
		lines := logSince(ctx, b, R, mark)
		if _, ok := firstLine(lines, pg.LogLine.Promoted); ok {
			return false, errors.New("replica left recovery (promoted) instead of shutting down at its recovery target: check replica_restore.conf (recovery_target_action = 'shutdown')")
		}
		if _, ok := firstLine(lines, pg.LogLine.PausedAtEnd); ok {
			return false, errors.New("replica paused at its recovery target instead of shutting down: check replica_restore.conf (recovery_target_action = 'shutdown')")
		}
		if o.PM.Accepting() && noRecoveryTarget(ctx, b) {
			// A standby without a target never ends its recovery, so
			// waiting out the deadline could only fail later, not differently.
			return false, errors.New("replica runs on as a standby: no recovery target is set (recovery_target, recovery_target_lsn/name/time/xid are empty), so it cannot shut down at one: check replica_restore.conf")
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("%w%s", err, lastLogHint(ctx, b, R))
	}
	if last.ExitCode != 0 || strings.HasPrefix(last.Detail, "killed") {
		return fmt.Errorf("replica %s instead of shutting down at its recovery target%s", last.Detail, lastLogHint(ctx, b, R))
	}
	if _, ok := firstLine(logSince(ctx, b, R, mark), pg.LogLine.ShutdownAtTarget); ok {
		fmt.Fprintln(out, "replica shut down at its recovery target (its log: shutdown at recovery target)")
		return nil
	}
	cd, err := b.ControlData(ctx, R)
	if err != nil {
		return fmt.Errorf("replica exited (%s); cannot tell whether at its recovery target: %w", last.Detail, err)
	}
	if state := pg.ParseControlData(cd).State; state != "shut down in recovery" {
		return fmt.Errorf("replica exited (%s) but not at its recovery target: pg_controldata says %q%s", last.Detail, state, lastLogHint(ctx, b, R))
	}
	fmt.Fprintln(out, "replica shut down at its recovery target (pg_controldata: shut down in recovery)")
	return nil
}

// startStandby (re)starts the replica and waits until it streams or shows
// why it cannot; both are outcomes, only a silent deadline fails. It reads
// the replica's log and postmaster.pid, and queries it only once it says it
// accepts connections.
func startStandby(ctx context.Context, env *Env, out io.Writer) error {
	b, R := env.Backend, cluster.Replica
	if st, _ := b.State(ctx, R); st.Running {
		fmt.Fprintln(out, "replica is running; restarting it to pick up the standby config")
		if err := b.Stop(ctx, R, out); err != nil {
			return err
		}
	}
	// Remember where the log ends, so old lines (the previous server's
	// shutdown FATALs) are not taken for this start's outcome.
	mark := lastLine(ctx, b, R)
	if err := b.Start(ctx, R, out); err != nil {
		return err
	}
	var outcome string
	err := cluster.Until(ctx, env.Timeouts.Outcome, "the replica to stream or report an error", func(ctx context.Context) (bool, error) {
		o, err := cluster.Observe(ctx, b, R)
		if err != nil {
			return false, err
		}
		// PostgreSQL's own FATAL or ERROR (its wal receiver refused, a
		// timeline it cannot follow); the archiver's lines do not count.
		lines := logSince(ctx, b, R, mark)
		if l, ok := firstLine(lines, pg.LogLine.IsProblem); ok {
			outcome = "replica reports: " + pg.StripLogPrefix(l.Raw)
			return true, nil
		}
		// PostgreSQL 17's wal receiver logs a divergence at LOG level and
		// waits, while pg_stat_wal_receiver says streaming.
		if l, ok := firstLine(lines, divergesAtLog); ok {
			outcome = "replica reports: " + pg.StripLogPrefix(l.Raw)
			return true, nil
		}
		if !o.Proc.Running {
			outcome = "replica exited (" + o.Proc.Detail + ")"
			return true, nil
		}
		if _, ok := firstLine(lines, pg.LogLine.Promoted); ok {
			outcome = "replica left recovery (promoted): it is not a standby any more (is standby.signal missing?)"
			return true, nil
		}
		// A receiver says "streaming" before the primary has accepted its
		// start point: wait for proof, or for the refusal in the log.
		if o.PM.Accepting() {
			if rc, err := pg.ReadStream(ctx, b.ConnString(cluster.Primary), b.ConnString(R)); err == nil && rc != nil && rc.Streaming {
				outcome = fmt.Sprintf("replica streams from the primary on timeline %d (%s)", rc.ReceivedTLI, rc.Proof)
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("%w%s", err, lastLogHint(ctx, b, R))
	}
	fmt.Fprintln(out, outcome)
	return nil
}

// logSince is node's server log after the line mark (the last line before
// a start; "" for the whole tail), each line classified.
func logSince(ctx context.Context, b cluster.Backend, node cluster.Node, mark string) []pg.LogLine {
	lines, err := b.LogTail(ctx, node, 400)
	if err != nil {
		return nil
	}
	start := 0
	if mark != "" {
		for i := len(lines) - 1; i >= 0; i-- {
			if lines[i] == mark {
				start = i + 1
				break
			}
		}
	}
	out := make([]pg.LogLine, 0, len(lines)-start)
	for _, l := range lines[start:] {
		out = append(out, pg.ParseLogLine(l))
	}
	return out
}

// firstLine returns the first of lines for which match is true.
// divergesAtLog reports a server line, of any level, that says the standby
// has diverged.
func divergesAtLog(l pg.LogLine) bool {
	if l.Origin != pg.OriginServer {
		return false
	}
	f, ok := pg.ExplainLogLine(l.Raw)
	return ok && f.Diverges()
}

func firstLine(lines []pg.LogLine, match func(pg.LogLine) bool) (pg.LogLine, bool) {
	for _, l := range lines {
		if match(l) {
			return l, true
		}
	}
	return pg.LogLine{}, false
}

func lastLine(ctx context.Context, b cluster.Backend, node cluster.Node) string {
	lines, err := b.LogTail(ctx, node, 1)
	if err != nil || len(lines) == 0 {
		return ""
	}
	return lines[0]
}

// diskFull reports a line that says a write found no space.
func diskFull(line string) bool {
	return strings.Contains(line, "No space left on device") || strings.Contains(line, "Disk quota exceeded")
}

func lastLogHint(ctx context.Context, b cluster.Backend, node cluster.Node) string {
	lines, err := b.LogTail(ctx, node, 30)
	if err != nil || len(lines) == 0 {
		return ""
	}
	// A PANIC (a full disk: "could not write to file …: No space left on
	// device") is why everything after it failed: quote it first.
	for i := len(lines) - 1; i >= 0; i-- {
		if l := pg.ParseLogLine(lines[i]); l.IsProblem() && l.Level == "PANIC" {
			return "; its log says: " + pg.StripLogPrefix(lines[i])
		}
	}
	// A full disk said by restore_command (cp: … No space left on device)
	// is why the server then could not find its checkpoint record.
	for i := len(lines) - 1; i >= 0; i-- {
		if diskFull(lines[i]) {
			msg := pg.StripLogPrefix(lines[i])
			for _, l := range lines[i+1:] {
				if pg.IsProblemLine(l) {
					return "; its log says: " + msg + " — then: " + pg.StripLogPrefix(l)
				}
			}
			return "; its log says: " + msg
		}
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if pg.IsProblemLine(lines[i]) {
			msg := pg.StripLogPrefix(lines[i])
			// A config FATAL only says "contains errors"; the LOG lines
			// just before it say which file, line and what.
			for j := i - 1; j >= 0 && j >= i-5; j-- {
				if pg.ParseLogLine(lines[j]).IsConfigComplaint() {
					msg = pg.StripLogPrefix(lines[j]) + " / " + msg
				}
			}
			return "; its log says: " + msg
		}
	}
	// The server's own last word, not restore_command's chatter after it.
	for i := len(lines) - 1; i >= 0; i-- {
		if pg.ParseLogLine(lines[i]).Origin == pg.OriginServer {
			return "; its log ends: " + pg.StripLogPrefix(lines[i])
		}
	}
	return "; its log ends: " + pg.StripLogPrefix(lines[len(lines)-1])
}

// startBoth starts the primary and the replica together, as the seed's
// `docker compose up -d` does (step 12), then waits until the primary has
// promoted and the replica has shut down at its recovery target.
func startBoth(ctx context.Context, env *Env, out io.Writer) error {
	b := env.Backend
	marks := make([]string, len(cluster.Nodes))
	for i, n := range cluster.Nodes {
		marks[i] = lastLine(ctx, b, n)
	}
	out = &syncWriter{w: out}
	errs := make([]error, len(cluster.Nodes))
	var wg sync.WaitGroup
	for i, n := range cluster.Nodes {
		wg.Add(1)
		go func() { // joined below
			defer wg.Done()
			errs[i] = b.Start(ctx, n, out)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// Once one server has failed the step has failed: waiting out --wait
	// for the other would only delay saying so.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	waits := []func(context.Context) error{
		func(ctx context.Context) error { return settlePrimary(ctx, env, cluster.Primary, out, marks[0], "12") },
		func(ctx context.Context) error { return shutdownAtTarget(ctx, env, out, marks[1]) },
	}
	failed := make([]bool, len(waits))
	var mu sync.Mutex
	for i, wait := range waits {
		wg.Add(1)
		go func() { // joined below
			defer wg.Done()
			err := wait(wctx)
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, context.Canceled) && ctx.Err() == nil && !failed[i] && anyOf(failed) {
				fmt.Fprintf(out, "%s: not waited for any longer, the other server failed\n", cluster.Nodes[i])
				err = nil
			}
			if err != nil {
				failed[i] = true
				stop()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// syncWriter serialises writes from the goroutines of one step.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// noRecoveryTarget reports whether none of the replica's config files
// (postgresql.conf, its include_dir files, postgresql.auto.conf) sets a
// recovery target; false when they cannot all be read. Read from the files,
// not asked of the server: a connection while it shuts down at its target
// would leave "the database system is shutting down" in its log.
func noRecoveryTarget(ctx context.Context, b cluster.Backend) bool {
	in := pg.InspectDataDir(ctx, b, cluster.Replica)
	if in.Missing || in.Err != "" || in.IncludeErr != "" {
		return false
	}
	return !in.SetsRecoveryTarget()
}

func anyOf(bs []bool) bool {
	for _, b := range bs {
		if b {
			return true
		}
	}
	return false
}
