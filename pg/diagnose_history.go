package pg

import (
	"fmt"
	"sort"
	"time"
)

type ahead struct{ replica, primary LSN }

// aheadProof looks for the replica ahead of the primary on the same
// timeline. Readings of the two servers are not simultaneous, so a
// replica read after the primary may be ahead of it by what the primary
// wrote in between; only a replica position beyond a primary position
// read later is proof. An earlier snapshot's replica against the current
// primary gives that order; so does PostgreSQL's own refusal.
func aheadProof(s Snapshot, pr Pair, earlier []Snapshot, diverging []Finding) (ahead, bool) {
	P, R := s.Node(pr.Upstream), s.Node(pr.Standby)
	pPos, pTLI := PositionOf(P)
	if !P.Up || P.InRecovery || !pPos.Valid() {
		return ahead{}, false
	}
	rPos, rTLI := PositionOf(R)
	if rTLI != pTLI || rPos <= pPos {
		return ahead{}, false
	}
	for _, f := range diverging {
		if f.Kind == FindAheadOfFlush {
			return ahead{rPos, pPos}, true
		}
	}
	for _, e := range earlier {
		eR := e.Node(pr.Standby)
		ePos, eTLI := PositionOf(eR)
		if eR.At.Before(P.At) && eTLI == pTLI && ePos > pPos {
			return ahead{ePos, pPos}, true
		}
	}
	return ahead{}, false
}

type stall struct {
	since      time.Time
	dur        time.Duration
	pFrom, pTo LSN
}

// stalled reports whether the replica's replay position has stood still
// for longer than after while the primary's moved.
func stalled(s Snapshot, pr Pair, earlier []Snapshot, now time.Time, after time.Duration) (stall, bool) {
	R := s.Node(pr.Standby)
	if !R.Up || !R.InRecovery {
		return stall{}, false
	}
	rPos, rTLI := PositionOf(R)
	pTo, pTLI := PositionOf(s.Node(pr.Upstream))
	snaps := append([]Snapshot(nil), earlier...)
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].At.Before(snaps[j].At) })
	st := stall{since: s.At, pFrom: pTo, pTo: pTo}
	fromTLI := pTLI
	for i := len(snaps) - 1; i >= 0; i-- {
		e := snaps[i]
		if !e.At.Before(s.At) {
			continue
		}
		eR := e.Node(pr.Standby)
		pos, tli := PositionOf(eR)
		if !eR.Up || !eR.InRecovery || pos != rPos || tli != rTLI {
			break
		}
		st.since = e.At
		if p, t := PositionOf(e.Node(pr.Upstream)); p.Valid() {
			st.pFrom, fromTLI = p, t
		}
	}
	st.dur = now.Sub(st.since)
	moved := st.pTo > st.pFrom || (fromTLI != pTLI && st.pTo.Valid())
	return st, st.dur > after && moved
}

// findCause explains why the replica went past the fork, when the data
// shows it: the archive held the old timeline's segment holding the fork
// point whole but not the new timeline's, so recovery took the old one.
// The current archive is checked first, then earlier snapshots' (the
// primary archives the new segment later), then the replica's log.
func findCause(s Snapshot, pr Pair, earlier []Snapshot, d Diagnosis) string {
	if !d.ForkLSN.Valid() || d.ForkParent == 0 || d.ForkTimeline == 0 {
		return ""
	}
	if at, pos, ok := wrotePastFork(s, earlier, pr.Standby, d.ForkParent, d.ForkLSN); ok {
		return fmt.Sprintf("The replica wrote that WAL itself: it ran as a primary on timeline %d, seen at %s with its WAL at %s, past the point %s where timeline %d forked off. "+
			"Two servers were primaries at once (a split brain), so nothing was restored from the archive: it holds its own history, which the new timeline does not continue.",
			d.ForkParent, at.UTC().Format("15:04:05"), pos, d.ForkLSN, d.ForkTimeline)
	}
	oldSeg := WALFileName(d.ForkParent, d.ForkLSN)
	newSeg := WALFileName(d.ForkTimeline, d.ForkLSN)
	tail := fmt.Sprintf(" (a primary archives a segment only once it is full or switched). "+
		"Recovery tries the newest timeline first, found nothing, fell back to timeline %d's complete segment and replayed it past the fork point %s.",
		d.ForkParent, d.ForkLSN)
	text := func(when string) string {
		if when == "" {
			return fmt.Sprintf("The archive holds timeline %d's segment %s whole but not timeline %d's %s", d.ForkParent, oldSeg, d.ForkTimeline, newSeg) + tail
		}
		return fmt.Sprintf("At %s the archive held timeline %d's segment %s whole but not timeline %d's %s", when, d.ForkParent, oldSeg, d.ForkTimeline, newSeg) + tail
	}
	shows := func(a Archive) bool {
		ix := indexArchive(a)
		return ix.has(oldSeg) && !ix.has(newSeg)
	}
	if shows(s.Archive) {
		return text("")
	}
	snaps := append([]Snapshot(nil), earlier...)
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].At.Before(snaps[j].At) })
	for i := len(snaps) - 1; i >= 0; i-- {
		if shows(snaps[i].Archive) && histKnown(snaps[i], d.ForkTimeline) {
			return text(snaps[i].At.UTC().Format("15:04:05"))
		}
	}
	// The replica's log: newSeg missing, then oldSeg restored.
	missing := false
	R := s.Node(pr.Standby)
	for _, f := range ExplainLog(R.Node, R.LogTail) {
		switch {
		case f.Kind == FindMissingInArchive && f.File == newSeg:
			missing = true
		case f.Kind == FindRestored && f.File == oldSeg && missing:
			return fmt.Sprintf("The replica's log shows it: the archive had no %s, so restore_command fetched timeline %d's %s instead, and recovery replayed it past the fork point %s.",
				newSeg, d.ForkParent, oldSeg, d.ForkLSN)
		}
	}
	return ""
}

// wrotePastFork finds a poll (the newest) in which standby ran as a
// primary on timeline parent past the fork at fork: then it wrote the WAL
// past the fork itself, and none of it came from the archive.
func wrotePastFork(s Snapshot, earlier []Snapshot, standby string, parent uint32, fork LSN) (time.Time, LSN, bool) {
	snaps := append(append([]Snapshot(nil), earlier...), s)
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].At.After(snaps[j].At) })
	for _, e := range snaps {
		r := e.Node(standby)
		if !r.Up || r.InRecovery || r.Role != RolePrimary {
			continue
		}
		if pos, tli := PositionOf(r); tli == parent && pos > fork {
			return e.At, pos, true
		}
	}
	return time.Time{}, 0, false
}

// histKnown reports whether timeline tli's history file existed in s, so
// a missing segment of it was really awaited rather than not yet forked.
func histKnown(s Snapshot, tli uint32) bool {
	for _, h := range s.Histories {
		if h.TLI == tli {
			return true
		}
	}
	for _, f := range s.Archive.WAL {
		if f.History && f.TLI == tli {
			return true
		}
	}
	return false
}
