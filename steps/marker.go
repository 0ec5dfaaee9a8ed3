package steps

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"walstep/cluster"
	"walstep/pg"
)

// MarkerTable is the table the marker actions write and read.
const MarkerTable = "walstep_marker"

// writeMarker commits a marker row on node and waits until node has
// flushed it, so that a standby that follows node can only miss it by not
// following.
func writeMarker(ctx context.Context, env *Env, step string, node cluster.Node, out io.Writer) error {
	b := env.Backend
	id := "walstep-" + time.Now().UTC().Format("20060102T150405.000000000")
	conn := b.ConnString(node)
	if err := PSQL(ctx, b, node, "create table if not exists "+MarkerTable+" (id text primary key, written timestamptz not null default now());", io.Discard); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	var lsn string
	if err := cluster.QueryRow(ctx, conn, "insert into "+MarkerTable+" (id) values ("+sqlLiteral(id)+") returning pg_current_wal_insert_lsn()::text", &lsn); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	err := cluster.Until(ctx, 30*time.Second, "the "+string(node)+" to flush the marker", func(ctx context.Context) (bool, error) {
		var ok bool
		if err := cluster.QueryRow(ctx, conn, "select pg_current_wal_flush_lsn() >= "+sqlLiteral(lsn)+"::pg_lsn", &ok); err != nil {
			return false, nil
		}
		return ok, nil
	})
	if err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	at, _ := pg.ParseLSN(lsn)
	env.mu.Lock()
	env.proof = pg.ProofInput{Write: &pg.MarkerWrite{ID: id, Node: string(node), LSN: at, Step: step}}
	env.mu.Unlock()
	fmt.Fprintf(out, "wrote marker row %s into %s on %s (its WAL up to %s, flushed there)\n", id, MarkerTable, node.The(), lsn)
	return nil
}

// checkMarker looks for the last marker on node until the deadline and
// says whether it arrived; it fails only when no marker was written.
func checkMarker(ctx context.Context, env *Env, step string, node cluster.Node, d time.Duration, out io.Writer) error {
	env.mu.Lock()
	id := ""
	if env.proof.Write != nil {
		id = env.proof.Write.ID
	}
	env.mu.Unlock()
	if id == "" {
		return fmt.Errorf("check marker: no marker was written (marker write NODE first)")
	}
	conn := env.Backend.ConnString(node)
	// answered: the node said the row is not there (no row, or no table
	// yet); last: why it could not be asked, when it never answered. A
	// query the deadline cuts short is neither.
	var answered bool
	var last error
	start := time.Now()
	err := cluster.Until(ctx, d, "the marker on the "+string(node), func(qctx context.Context) (bool, error) {
		// The table first: a query of a table the standby lacks would
		// leave an ERROR line in its log at every look.
		var n int
		var have bool
		qerr := cluster.QueryRow(qctx, conn, "select to_regclass("+sqlLiteral(MarkerTable)+") is not null", &have)
		if qerr == nil && !have {
			answered = true
			return false, nil
		}
		if qerr == nil {
			qerr = cluster.QueryRow(qctx, conn, "select count(*) from "+MarkerTable+" where id = "+sqlLiteral(id), &n)
		}
		switch {
		case qerr == nil:
			answered = true
			return n == 1, nil
		case isUndefinedTable(qerr):
			answered = true
		case qctx.Err() == nil:
			last = qerr
		}
		return false, nil
	})
	c := pg.MarkerCheck{ID: id, Node: string(node), Deadline: d.String(), Step: step, At: time.Now().UTC().Format("15:04:05")}
	switch {
	case err == nil:
		c.Fate, c.After = pg.MarkerFound, time.Since(start).Round(10*time.Millisecond).String()
		fmt.Fprintf(out, "marker %s reached %s after %s\n", id, node.The(), c.After)
	case ctx.Err() != nil:
		return ctx.Err()
	case !answered:
		c.Fate = pg.MarkerNoAnswer
		if last != nil {
			c.Err = last.Error()
		}
		fmt.Fprintf(out, "marker %s: cannot tell whether it reached %s, which did not answer within %s: %v\n", id, node.The(), d, last)
	default:
		c.Fate = pg.MarkerAbsent
		fmt.Fprintf(out, "marker %s did not reach %s within %s\n", id, node.The(), d)
	}
	env.noteCheck(c)
	return nil
}

// clearProof forgets the markers written so far.
func (e *Env) clearProof() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.proof = pg.ProofInput{}
}

// noteCheck keeps a look for the current marker, the last one per node.
func (e *Env) noteCheck(c pg.MarkerCheck) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.proof.Write == nil || e.proof.Write.ID != c.ID {
		return // a marker written since: this look is of an older one
	}
	checks := e.proof.Checks[:0:0]
	for _, o := range e.proof.Checks {
		if o.Node != c.Node {
			checks = append(checks, o)
		}
	}
	e.proof.Checks = append(checks, c)
}

// isUndefinedTable reports a query that failed because the marker table
// is not there: the standby never replayed its creation.
func isUndefinedTable(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "does not exist") || strings.Contains(err.Error(), "42P01"))
}
