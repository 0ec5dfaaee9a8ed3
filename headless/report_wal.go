package headless

import (
	"context"
	"fmt"
	"io"
	"time"

	"walstep/pg"
	"walstep/present"
	"walstep/transcript"
)

// ReadWAL reads the WAL at the fork of snap's diagnosis d with the
// backend's own pg_waldump, as the server user. Locally the segments are
// staged in the lab's run/staging (the server user's), so nothing is
// written outside the lab; in a container, in its /tmp.
func (s *Session) ReadWAL(ctx context.Context, snap pg.Snapshot, d pg.Diagnosis) *pg.WALAtFork {
	return pg.ReadWALAtFork(ctx, s.Backend, snap, d, pg.WALOptions{})
}

// addWAL fills the report's wal_past_fork and adds its sentence to the
// diagnosis.
func addWAL(ctx context.Context, s *Session, rep *Report) {
	if rep.Diagnosis == nil {
		return
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	rep.WALPastFork = s.ReadWAL(wctx, rep.Snapshot, *rep.Diagnosis)
	rep.WALPastFork.ApplyTo(rep.Diagnosis)
}

// writeWALText prints the WAL at the fork, as the debugger's w view shows it.
func writeWALText(w io.Writer, rep Report) {
	if rep.WALPastFork == nil {
		return
	}
	fmt.Fprintln(w, "\n== WAL at the fork (pg_waldump)")
	fmt.Fprintln(w, indent(present.ReportWAL(rep.WALPastFork)))
}

// transcriptWAL adds the WAL at the fork to a transcript, before its outcome.
func transcriptWAL(tr *transcript.Transcript, rep Report) error {
	if rep.WALPastFork == nil {
		return nil
	}
	return tr.Section("WAL at the fork (pg_waldump)", present.ReportWAL(rep.WALPastFork))
}
