package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

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

// fetchBackup fetches the backup name (the one the last backup find found)
// into node's data dir; with no name yet, the newest the archive holds as
// lister's environment lists it.
func fetchBackup(ctx context.Context, env *Env, node, lister cluster.Node, name string, out io.Writer) error {
	if name == "" {
		names, err := env.Archiver.ListBackups(ctx, env.Backend, lister, io.Discard)
		if err != nil || len(names) == 0 {
			return errors.New("fetch backup: no backup name yet: run the step that finds it (backup find) first")
		}
		name = names[len(names)-1]
	}
	return env.Archiver.BackupFetch(ctx, env.Backend, node, name, out)
}

// startOne starts node unless it runs already, and returns where its log
// ended before the start ("" when it was running: the waits read the
// whole tail).
func startOne(ctx context.Context, env *Env, node cluster.Node, out io.Writer) (string, error) {
	if st, _ := env.Backend.State(ctx, node); st.Running {
		fmt.Fprintf(out, "%s is already running (%s)\n", node, st.Detail)
		return "", nil
	}
	mark := lastLine(ctx, env.Backend, node)
	return mark, env.Backend.Start(ctx, node, out)
}

// errPausedAtEnd says a server paused at the end of its recovery
// (recovery_target_action = 'pause'): it stays in recovery until replay
// is resumed or it is promoted.
var errPausedAtEnd = errors.New("paused at the end of recovery")

// settlePrimary waits until node says it is out of recovery (its
// postmaster.pid status turns ready) and only then connects, once, to
// report its timeline. mark is where its log ended before this start.
// Paused at the end of recovery, it fails, unless later (after step, a
// step ID, "" for never) a hook runs or a step promotes it: then it says
// so and is done with the server paused.
func settlePrimary(ctx context.Context, env *Env, node cluster.Node, out io.Writer, mark string, d time.Duration, step string, later []string) error {
	err := settle(ctx, env, node, out, mark, d)
	if !errors.Is(err, errPausedAtEnd) {
		return err
	}
	if step == "" {
		return fmt.Errorf("%s %w instead of promoting (recovery_target_action = 'pause'; resume it with select pg_wal_replay_resume(), or promote it with select pg_promote())", node, errPausedAtEnd)
	}
	hooks := append(env.LaterHooks(step), later...)
	if len(hooks) == 0 {
		return fmt.Errorf("%s %w instead of promoting, and no later step or hook promotes it (recovery_target_action = 'pause'; resume it with select pg_wal_replay_resume(), or promote it with select pg_promote(), in a hook after step %s)", node, errPausedAtEnd, step)
	}
	fmt.Fprintf(out, "%s is paused at the end of recovery (recovery_target_action = 'pause'), still in recovery on its old timeline: no step of the playbook promotes it; it waits for a later hook (%s) to promote it (pg_promote()) or resume replay (pg_wal_replay_resume()); a later wait for its promotion fails if it is still paused then\n", node, strings.Join(hooks, ", "))
	return nil
}

// settle is settlePrimary without the judgement of a pause.
func settle(ctx context.Context, env *Env, node cluster.Node, out io.Writer, mark string, d time.Duration) error {
	b := env.Backend
	res, st, err := cluster.WaitReady(ctx, b, node, d)
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
	if err := cluster.WaitPromoted(ctx, b, node, d, stuck); errors.Is(err, errPausedAtEnd) {
		return err
	} else if err != nil {
		return fmt.Errorf("%w (%s)%s", err, settingSays(ctx, b, node, "recovery_target_action", "pause"), lastLogHint(ctx, b, node))
	}
	var tl string
	_ = cluster.QueryRow(ctx, b.ConnString(node), "select substr(pg_walfile_name(pg_current_wal_lsn()),1,8)", &tl)
	fmt.Fprintf(out, "%s accepts connections, out of recovery (WAL file timeline %s)\n", node, tl)
	return nil
}

// restart stops node when it runs and starts it again, so that it reads
// what changed in its config; it returns where its log ended before.
func restart(ctx context.Context, env *Env, node cluster.Node, out io.Writer) (string, error) {
	b := env.Backend
	if st, _ := b.State(ctx, node); st.Running {
		fmt.Fprintf(out, "%s is running; restarting it\n", node)
		if err := b.Stop(ctx, node, out); err != nil {
			return "", err
		}
	}
	mark := lastLine(ctx, b, node)
	return mark, b.Start(ctx, node, out)
}

// shutdownAtTarget waits until node's process has exited and is
// done only when it exited at its recovery target: exit code 0 and its log
// (since mark) saying "shutdown at recovery target", or pg_controldata
// saying "shut down in recovery". A crash, a config error or a kill fails
// with the reason; so does a replica that promotes or pauses instead.
func shutdownAtTarget(ctx context.Context, env *Env, R cluster.Node, out io.Writer, mark string, d time.Duration) error {
	b := env.Backend
	var last cluster.ProcState
	err := cluster.Until(ctx, d, fmt.Sprintf("%s to shut down at its recovery target", R.The()), func(ctx context.Context) (bool, error) {
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
			return false, fmt.Errorf("%s left recovery (promoted) instead of shutting down at its recovery target (%s; 'shutdown' stops it there)", R, settingSays(ctx, b, R, "recovery_target_action", "pause"))
		}
		if _, ok := firstLine(lines, pg.LogLine.PausedAtEnd); ok {
			return false, fmt.Errorf("%s paused at its recovery target instead of shutting down (%s; 'shutdown' stops it there)", R, settingSays(ctx, b, R, "recovery_target_action", "pause"))
		}
		if o.PM.Accepting() {
			if none, read := noRecoveryTarget(ctx, b, R); none {
				// A standby without a target never ends its recovery, so
				// waiting out the deadline could only fail later, not differently.
				return false, fmt.Errorf("%s runs on as a standby: no recovery target is set (recovery_target, recovery_target_lsn/name/time/xid are empty in %s), so it cannot shut down at one", R, read)
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("%w%s", err, lastLogHint(ctx, b, R))
	}
	if last.ExitCode != 0 || strings.HasPrefix(last.Detail, "killed") {
		return fmt.Errorf("%s %s instead of shutting down at its recovery target%s", R, last.Detail, lastLogHint(ctx, b, R))
	}
	if _, ok := firstLine(logSince(ctx, b, R, mark), pg.LogLine.ShutdownAtTarget); ok {
		fmt.Fprintf(out, "%s shut down at its recovery target (its log: shutdown at recovery target)\n", R)
		return nil
	}
	cd, err := b.ControlData(ctx, R)
	if err != nil {
		return fmt.Errorf("%s exited (%s); cannot tell whether at its recovery target: %w", R, last.Detail, err)
	}
	if state := pg.ParseControlData(cd).State; state != "shut down in recovery" {
		return fmt.Errorf("%s exited (%s) but not at its recovery target: pg_controldata says %q%s", R, last.Detail, state, lastLogHint(ctx, b, R))
	}
	fmt.Fprintf(out, "%s shut down at its recovery target (pg_controldata: shut down in recovery)\n", R)
	return nil
}

// waitStreaming waits until node streams from up or shows why it cannot;
// both are outcomes, only a silent deadline fails. It reads node's log and
// postmaster.pid, and queries it only once it says it accepts connections.
// mark is where node's log ended before it started, so old lines (the
// previous server's shutdown FATALs) are not taken for this outcome.
func waitStreaming(ctx context.Context, env *Env, R, up cluster.Node, out io.Writer, mark string, d time.Duration) error {
	b := env.Backend
	var outcome string
	err := cluster.Until(ctx, d, fmt.Sprintf("%s to stream or report an error", R.The()), func(ctx context.Context) (bool, error) {
		o, err := cluster.Observe(ctx, b, R)
		if err != nil {
			return false, err
		}
		// PostgreSQL's own FATAL or ERROR (its wal receiver refused, a
		// timeline it cannot follow); the archiver's lines do not count.
		lines := logSince(ctx, b, R, mark)
		if l, ok := firstLine(lines, pg.LogLine.IsProblem); ok {
			outcome = string(R) + " reports: " + pg.StripLogPrefix(l.Raw)
			return true, nil
		}
		// PostgreSQL 17's wal receiver logs a divergence at LOG level and
		// waits, while pg_stat_wal_receiver says streaming.
		if l, ok := firstLine(lines, divergesAtLog); ok {
			outcome = string(R) + " reports: " + pg.StripLogPrefix(l.Raw)
			return true, nil
		}
		if !o.Proc.Running {
			outcome = string(R) + " exited (" + o.Proc.Detail + ")"
			return true, nil
		}
		if _, ok := firstLine(lines, pg.LogLine.Promoted); ok {
			outcome = string(R) + " left recovery (promoted): it is not a standby any more (is standby.signal missing?)"
			return true, nil
		}
		// A receiver says "streaming" before the primary has accepted its
		// start point: wait for proof, or for the refusal in the log.
		if o.PM.Accepting() {
			if rc, err := pg.ReadStream(ctx, b.ConnString(up), b.ConnString(R)); err == nil && rc != nil && rc.Streaming {
				outcome = fmt.Sprintf("%s streams from %s on timeline %d (%s)", R, up.The(), rc.ReceivedTLI, proofFrom(up, rc.Proof))
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

// startTogether launches nodes at once, as the seed's `docker compose up
// -d` does, and returns where each log ended before.
func startTogether(ctx context.Context, env *Env, nodes []cluster.Node, out io.Writer) ([]string, error) {
	b := env.Backend
	marks := make([]string, len(nodes))
	for i, n := range nodes {
		marks[i] = lastLine(ctx, b, n)
	}
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() { // joined below
			defer wg.Done()
			errs[i] = b.Start(ctx, n, out)
		}()
	}
	wg.Wait()
	return marks, errors.Join(errs...)
}

// waitTogether runs waits at once. Once one has failed the step has
// failed: waiting out its deadline for another would only delay saying so.
func waitTogether(ctx context.Context, waits []func(context.Context) error, names []cluster.Node, out io.Writer) error {
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	errs := make([]error, len(waits))
	failed := make([]bool, len(waits))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, wait := range waits {
		wg.Add(1)
		go func() { // joined below
			defer wg.Done()
			err := wait(wctx)
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, context.Canceled) && ctx.Err() == nil && !failed[i] && anyOf(failed) {
				fmt.Fprintf(out, "%s: not waited for any longer, the other server failed\n", names[i])
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

// noRecoveryTarget reports whether none of node's config files
// (postgresql.conf, its include_dir files, postgresql.auto.conf) sets a
// recovery target, and which files it read; false when they cannot all be
// read. Read from the files, not asked of the server: a connection while
// it shuts down at its target would leave "the database system is
// shutting down" in its log.
func noRecoveryTarget(ctx context.Context, b cluster.Backend, node cluster.Node) (bool, string) {
	in := pg.InspectDataDir(ctx, b, node)
	if in.Missing || in.Err != "" || in.IncludeErr != "" {
		return false, ""
	}
	return !in.SetsRecoveryTarget(), strings.Join(in.ConfFiles(), ", ")
}

// settingSays is where node's config files set name, for a failure that
// turns on it: the value and the file that sets it last, or that none
// does and the server's default (def) holds. Read through the backend,
// as the inspect view reads them: it names the files there are, whatever
// the playbook called them.
func settingSays(ctx context.Context, b cluster.Backend, node cluster.Node, name, def string) string {
	in := pg.InspectDataDir(ctx, b, node)
	if in.Missing || in.Err != "" {
		return fmt.Sprintf("%s's %s is unknown: its data dir cannot be read", node.The(), name)
	}
	if v, file, ok := in.Setting(name); ok {
		return fmt.Sprintf("%s's %s is '%s', set in %s", node.The(), name, v, file)
	}
	return fmt.Sprintf("none of %s's config files sets %s, so it is PostgreSQL's default '%s'", node.The(), name, def)
}

func anyOf(bs []bool) bool {
	for _, b := range bs {
		if b {
			return true
		}
	}
	return false
}

// waitLog waits until a line of node's log since mark matches pattern.
func waitLog(ctx context.Context, env *Env, node cluster.Node, pattern string, out io.Writer, mark string, d time.Duration) error {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return fmt.Errorf("wait log: %w", err)
	}
	var found string
	err = cluster.Until(ctx, d, fmt.Sprintf("%s's log to show %q", node.The(), pattern), func(ctx context.Context) (bool, error) {
		for _, l := range logSince(ctx, env.Backend, node, mark) {
			if re.MatchString(l.Raw) {
				found = l.Raw
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("%w%s", err, lastLogHint(ctx, env.Backend, node))
	}
	fmt.Fprintf(out, "%s's log: %s\n", node, pg.StripLogPrefix(found))
	return nil
}

// proofFrom is a stream's proof naming the node streamed from: pg calls it
// the primary, which a standby of a cascade streams from is not.
func proofFrom(up cluster.Node, proof string) string {
	return strings.Replace(proof, "the primary's walsender", up.The()+"'s walsender", 1)
}
