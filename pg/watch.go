package pg

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// KeepPolls bounds the earlier polls a Watch keeps.
const KeepPolls = 400

// Watch is the history Diagnose needs, folded one poll at a time: the
// debugger and `walstep run` each keep one, so they can only disagree when
// they saw different polls. It is a value; Observe returns the next one and
// never changes the receiver's polls.
//
// Kept are all polls of the last two StallAfter periods (the stalled
// verdict looks back StallAfter), and older ones only where the archive
// changed (the cause can lie in what the archive held when the primary
// forked), at most KeepPolls in all. Their log tails are dropped: Diagnose
// reads logs of the current poll only.
type Watch struct {
	// StallAfter is passed to Diagnose; 0 means DefaultStallAfter.
	StallAfter time.Duration
	earlier    []Snapshot
}

// NewWatch is an empty history with the given patience for the stalled
// verdict (0: DefaultStallAfter).
func NewWatch(stallAfter time.Duration) Watch { return Watch{StallAfter: stallAfter} }

// Observe diagnoses s against the polls seen so far and returns the history
// with s added.
func (w Watch) Observe(s Snapshot) (Watch, Diagnosis) {
	d := Diagnose(DiagnoseInput{Snapshot: s, Earlier: w.earlier, Now: s.At, Options: DiagnoseOptions{StallAfter: w.stallAfter()}})
	return w.remember(s), d
}

// Earlier returns the polls kept, oldest first (a copy).
func (w Watch) Earlier() []Snapshot { return append([]Snapshot(nil), w.earlier...) }

// Len is the number of polls kept.
func (w Watch) Len() int { return len(w.earlier) }

// remember returns w with s added and the history thinned.
func (w Watch) remember(s Snapshot) Watch {
	s.Nodes = slices.Clone(s.Nodes)
	for i := range s.Nodes {
		s.Nodes[i].LogTail = nil
	}
	cutoff := s.At.Add(-2 * w.stallAfter())
	kept := make([]Snapshot, 0, len(w.earlier)+1)
	var lastArchive string
	keep := func(i int, e Snapshot) {
		key := archiveKey(e.Archive)
		if e.At.After(cutoff) || i == 0 || key != lastArchive {
			kept = append(kept, e)
		}
		lastArchive = key
	}
	for i, e := range w.earlier {
		keep(i, e)
	}
	keep(len(w.earlier), s)
	if len(kept) > KeepPolls {
		kept = kept[len(kept)-KeepPolls:]
	}
	w.earlier = kept
	return w
}

func (w Watch) stallAfter() time.Duration {
	if w.StallAfter > 0 {
		return w.StallAfter
	}
	return DefaultStallAfter
}

// archiveKey identifies an archive listing, to keep a poll per change.
func archiveKey(a Archive) string {
	var b strings.Builder
	for _, f := range a.WAL {
		fmt.Fprintf(&b, "%s:%d;", f.Name, f.Size)
	}
	b.WriteString(strings.Join(a.Backups, ";"))
	return b.String()
}
