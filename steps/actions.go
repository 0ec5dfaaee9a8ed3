package steps

import (
	"context"
	"errors"
	"fmt"
	"io"

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

// startReady starts node (unless running) and waits until it accepts
// connections; with mustPromote it also waits until it leaves recovery.
func startReady(ctx context.Context, env *Env, node cluster.Node, out io.Writer, mustPromote bool) error {
	if st, _ := env.Backend.State(ctx, node); st.Running {
		fmt.Fprintf(out, "%s is already running (%s)\n", node, st.Detail)
	} else if err := env.Backend.Start(ctx, node, out); err != nil {
		return err
	}
	return settle(ctx, env, node, out, mustPromote)
}

// settle waits until node accepts connections or exits, and reports which.
func settle(ctx context.Context, env *Env, node cluster.Node, out io.Writer, mustPromote bool) error {
	b := env.Backend
	res, st, err := cluster.WaitReady(ctx, b, node, env.Timeouts.Ready)
	if err != nil {
		return fmt.Errorf("%w%s", err, lastLogHint(ctx, b, node))
	}
	if res == cluster.Exited {
		if mustPromote {
			return fmt.Errorf("%s exited (%s) instead of accepting connections%s", node, st.Detail, lastLogHint(ctx, b, node))
		}
		fmt.Fprintf(out, "%s shut down (%s)%s\n", node, st.Detail, lastLogHint(ctx, b, node))
		return nil
	}
	if mustPromote {
		if err := cluster.WaitPromoted(ctx, b, node, env.Timeouts.Promote); err != nil {
			return fmt.Errorf("%w: check primary_restore.conf (recovery_target_action)%s", err, lastLogHint(ctx, b, node))
		}
		var tl string
		_ = cluster.QueryRow(ctx, b.ConnString(node), "select substr(pg_walfile_name(pg_current_wal_lsn()),1,8)", &tl)
		fmt.Fprintf(out, "%s accepts connections, out of recovery (WAL file timeline %s)\n", node, tl)
		return nil
	}
	var inRec bool
	_ = cluster.QueryRow(ctx, b.ConnString(node), "select pg_is_in_recovery()", &inRec)
	fmt.Fprintf(out, "%s accepts connections (in recovery: %v)\n", node, inRec)
	return nil
}

// startStandby (re)starts the replica and waits until it streams or shows
// why it cannot; both are outcomes, only a silent deadline fails.
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
		st, err := b.State(ctx, R)
		if err != nil {
			return false, err
		}
		if line := SinceMark(ctx, b, R, mark, pg.IsProblemLine); line != "" {
			outcome = "replica reports: " + pg.StripLogPrefix(line)
			return true, nil
		}
		if !st.Running {
			outcome = "replica exited (" + st.Detail + ")"
			return true, nil
		}
		var status string
		var tli int32
		if cluster.QueryRow(ctx, b.ConnString(R), "select status, received_tli from pg_stat_wal_receiver", &status, &tli) == nil && status == "streaming" {
			outcome = fmt.Sprintf("replica streams from the primary on timeline %d", tli)
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("%w%s", err, lastLogHint(ctx, b, R))
	}
	fmt.Fprintln(out, outcome)
	return nil
}

// SinceMark returns the first log line of node after the line mark (the
// last line before a start; "" for the whole tail) for which match is true,
// or "".
func SinceMark(ctx context.Context, b cluster.Backend, node cluster.Node, mark string, match func(string) bool) string {
	lines, err := b.LogTail(ctx, node, 400)
	if err != nil {
		return ""
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
	for _, l := range lines[start:] {
		if match(l) {
			return l
		}
	}
	return ""
}

func lastLine(ctx context.Context, b cluster.Backend, node cluster.Node) string {
	lines, err := b.LogTail(ctx, node, 1)
	if err != nil || len(lines) == 0 {
		return ""
	}
	return lines[0]
}

func lastLogHint(ctx context.Context, b cluster.Backend, node cluster.Node) string {
	lines, err := b.LogTail(ctx, node, 30)
	if err != nil || len(lines) == 0 {
		return ""
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
	return "; its log ends: " + pg.StripLogPrefix(lines[len(lines)-1])
}
