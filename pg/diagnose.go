package pg

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Verdict is Diagnose's answer: does the replica follow the primary?
type Verdict string

// Verdicts of Diagnose.
const (
	VerdictHealthy  Verdict = "healthy"  // the replica follows the primary's timeline and has not passed a fork point
	VerdictDiverged Verdict = "diverged" // the replica replayed past the fork point it must follow, or PostgreSQL says so
	VerdictStalled  Verdict = "stalled"  // the replica's replay position stands still while the primary's moves
	VerdictUnknown  Verdict = "unknown"  // not enough seen yet
)

// Verdicts lists every verdict, for flags that name one (--expect).
var Verdicts = []Verdict{VerdictDiverged, VerdictHealthy, VerdictStalled, VerdictUnknown}

// ParseVerdict returns the verdict named s.
func ParseVerdict(s string) (Verdict, error) {
	for _, v := range Verdicts {
		if string(v) == s {
			return v, nil
		}
	}
	names := make([]string, len(Verdicts))
	for i, v := range Verdicts {
		names[i] = string(v)
	}
	return "", fmt.Errorf("%q is not a verdict: use %s", s, strings.Join(names, ", "))
}

// DefaultStallAfter is how long the replica's replay position may stand
// still while the primary moves before the verdict is stalled. A standby
// retries the archive and the primary every 5 s, so a few rounds.
const DefaultStallAfter = 30 * time.Second

// DiagnoseOptions tune Diagnose.
type DiagnoseOptions struct {
	// StallAfter: see DefaultStallAfter, used when zero.
	StallAfter time.Duration
}

// DiagnoseInput is everything Diagnose looks at.
type DiagnoseInput struct {
	Snapshot Snapshot   // the current poll
	Earlier  []Snapshot // earlier polls, any order, bounded by the caller; for stalled and to confirm races
	Options  DiagnoseOptions
	Now      time.Time // zero: Snapshot.At
}

// Diagnosis is the verdict with its evidence. The first five fields are
// the report's "diagnosis" object; the rest add detail for the panel.
type Diagnosis struct {
	Verdict     Verdict  `json:"verdict"`
	ForkLSN     LSN      `json:"fork_lsn,omitempty"`
	ReplicaLSN  LSN      `json:"replica_lsn,omitempty"`
	Evidence    []string `json:"evidence"`
	Explanation string   `json:"explanation"`
	// Cause is why the replica went past the fork, when the archive or
	// the logs show it.
	Cause string `json:"cause,omitempty"`

	ForkTimeline    uint32      `json:"fork_timeline,omitempty"`        // the timeline that forked off at ForkLSN
	ForkParent      uint32      `json:"fork_parent_timeline,omitempty"` // the timeline it left
	ReplicaTimeline uint32      `json:"replica_timeline,omitempty"`
	PrimaryLSN      LSN         `json:"primary_lsn,omitempty"`
	PrimaryTimeline uint32      `json:"primary_timeline,omitempty"`
	StalledFor      string      `json:"stalled_for,omitempty"` // how long replay has stood still, when stalled
	Findings        []Finding   `json:"findings,omitempty"`    // log lines that matter, problems and divergences only
	Next            []NextFiles `json:"next_files,omitempty"`  // what each server asks the archive for next
}

// Diagnose decides whether the replica follows the primary. It is pure:
// everything it needs is in in.
func Diagnose(in DiagnoseInput) Diagnosis {
	s := in.Snapshot
	if in.Options.StallAfter <= 0 {
		in.Options.StallAfter = DefaultStallAfter
	}
	if in.Now.IsZero() {
		in.Now = s.At
	}
	P, R := s.Primary, s.Replica
	pPos, pTLI := PositionOf(P)
	rPos, rTLI := PositionOf(R)
	d := Diagnosis{Evidence: []string{}, ReplicaLSN: rPos, ReplicaTimeline: rTLI, PrimaryLSN: pPos, PrimaryTimeline: pTLI}
	d.Next = NextWanted(s)

	findings := append(ExplainLog(P.Node, P.LogTail), ExplainLog(R.Node, R.LogTail)...)
	if f, ok := sameNewTimeline(P, R); ok {
		findings = append(findings, f)
	}
	var diverging []Finding
	for _, f := range dedupe(findings) {
		if f.Severity != SevInfo {
			d.Findings = append(d.Findings, f)
		}
		if f.Diverges() {
			diverging = append(diverging, f)
		}
	}

	// The timeline the replica must follow is the primary's; its history
	// says where each older timeline was left.
	target := pTLI
	if target == 0 {
		for _, h := range s.Histories {
			target = max(target, h.TLI)
		}
	}
	hist, haveHist := historyOf(s.Histories, target)
	if haveHist {
		if h := hist; rTLI != 0 && rTLI != target {
			for i, e := range h.Entries {
				if e.TLI == rTLI {
					d.ForkLSN, d.ForkParent, d.ForkTimeline = e.Switch, e.TLI, target
					if i+1 < len(h.Entries) {
						d.ForkTimeline = h.Entries[i+1].TLI
					}
				}
			}
		}
		if !d.ForkLSN.Valid() {
			if parent, at, ok := hist.ForkPoint(); ok {
				d.ForkLSN, d.ForkParent, d.ForkTimeline = at, parent, target
			}
		}
	}
	if d.ForkLSN.Valid() {
		h, _ := historyOf(s.Histories, d.ForkTimeline)
		reason := ""
		for _, e := range h.Entries {
			if e.TLI == d.ForkParent && e.Reason != "" {
				reason = " (" + e.Reason + ")"
			}
		}
		d.Evidence = append(d.Evidence, fmt.Sprintf("%08X.history: timeline %d forked off timeline %d at %s%s",
			d.ForkTimeline, d.ForkTimeline, d.ForkParent, d.ForkLSN, reason))
	}
	if pPos.Valid() || pTLI != 0 {
		d.Evidence = append(d.Evidence, "primary: "+describe(P, pPos, pTLI))
	}
	if rPos.Valid() || rTLI != 0 {
		d.Evidence = append(d.Evidence, "replica: "+describe(R, rPos, rTLI))
	}

	// Divergence shown by positions.
	var why []string
	replicaKnown := rPos.Valid() && rTLI != 0
	if replicaKnown && haveHist && target != 0 && !hist.Contains(rTLI, rPos) {
		if isAncestor(hist, rTLI) {
			// No "already": the replica may have gone past the fork after
			// the primary forked (as it does when it restarts and finds only
			// the old timeline's segment), so say where it is, not when.
			why = append(why, fmt.Sprintf("The primary forked timeline %d off timeline %d at %s, and the replica has replayed timeline %d up to %s, past that point. "+
				"Its data holds WAL of timeline %d that timeline %d does not have, so it cannot follow the primary.",
				d.ForkTimeline, d.ForkParent, d.ForkLSN, rTLI, rPos, rTLI, d.ForkTimeline))
			d.Evidence = append(d.Evidence, fmt.Sprintf("replica position %s on timeline %d is past the fork point %s", rPos, rTLI, d.ForkLSN))
		} else {
			why = append(why, fmt.Sprintf("The replica is on timeline %d, which is not part of the primary's timeline %d history: the two servers have split.", rTLI, target))
			d.Evidence = append(d.Evidence, fmt.Sprintf("timeline %d is not in %s", rTLI, histFile(target)))
		}
	}
	if R.Up && !R.InRecovery && P.Up && !P.InRecovery {
		why = append(why, fmt.Sprintf("The replica has left recovery and runs as a primary on timeline %d: it no longer follows anything.", rTLI))
		d.Evidence = append(d.Evidence, "replica: not in recovery (promoted)")
	}
	if a, ok := aheadProof(s, in.Earlier, diverging); ok && len(why) == 0 {
		why = append(why, fmt.Sprintf("The replica is ahead of the primary on timeline %d: it replayed up to %s while the primary has written only up to %s, so it replayed WAL the primary never wrote.",
			rTLI, a.replica, a.primary))
		d.Evidence = append(d.Evidence, fmt.Sprintf("replica %s is ahead of the primary's flush position %s (primary read after the replica)", a.replica, a.primary))
	}
	for _, f := range diverging {
		e := f.Node + " log: " + f.Message()
		if f.Repeats > 1 {
			e += fmt.Sprintf(" (x%d)", f.Repeats)
		}
		d.Evidence = append(d.Evidence, e)
	}

	if len(why) > 0 || len(diverging) > 0 {
		d.Verdict = VerdictDiverged
		if len(why) == 0 {
			why = append(why, "PostgreSQL reports the divergence: "+diverging[0].Explanation)
		}
		d.Explanation = strings.Join(why, " ")
		d.Cause = findCause(s, in.Earlier, d) // shown once, by whoever prints Cause
		// pg_rewind is not offered: it needs data checksums or
		// wal_log_hints = on, which initdb's defaults (the lab's) lack.
		d.Explanation += " To follow the primary again it must be rebuilt from a new backup taken after the fork."
		return d
	}

	switch {
	case pTLI == 0 && !pPos.Valid():
		d.Verdict = VerdictUnknown
		d.Explanation = "No reading of the primary yet, so there is no timeline to compare the replica with."
		return d
	case !replicaKnown:
		d.Verdict = VerdictUnknown
		d.Explanation = "No position of the replica yet (it is not created, starting, or its data dir cannot be read)."
		return d
	case !haveHist && rTLI != target:
		d.Verdict = VerdictUnknown
		d.Explanation = fmt.Sprintf("The primary is on timeline %d but %s has not been seen, so where timeline %d forked off is unknown.", target, histFile(target), target)
		return d
	}

	if st, ok := stalled(s, in.Earlier, in.Now, in.Options.StallAfter); ok {
		d.Verdict = VerdictStalled
		d.StalledFor = st.dur.Round(time.Second).String()
		d.Evidence = append(d.Evidence, fmt.Sprintf("replica replay has stayed at %s since %s (%s) while the primary moved from %s to %s",
			rPos, st.since.UTC().Format("15:04:05"), d.StalledFor, st.pFrom, st.pTo))
		d.Explanation = fmt.Sprintf("The replica has not replayed anything for %s while the primary wrote WAL from %s to %s.", d.StalledFor, st.pFrom, st.pTo)
		if R.Receiver == nil || R.Receiver.Status != "streaming" {
			d.Explanation += " It does not stream from the primary"
			if nf, ok := nextOf(d.Next, R.Node); ok && nf.Uses == "" && len(nf.Segments) > 0 {
				d.Explanation += fmt.Sprintf(", and the archive lacks %s, which it asks for next", nf.Segments[0].Name)
			}
			d.Explanation += "."
		}
		return d
	}

	onHistory := fmt.Sprintf("on the primary's timeline %d", target)
	if rTLI != target {
		onHistory = fmt.Sprintf("on timeline %d, not past the fork point %s, so it can still follow timeline %d", rTLI, d.ForkLSN, target)
	}
	if !R.Up && (R.Process == ProcStarting || R.Process == ProcStopping) {
		d.Verdict = VerdictUnknown
		what := "starting: it does not accept connections yet"
		if R.Process == ProcStopping {
			what = "shutting down"
		}
		d.Explanation = fmt.Sprintf("The replica is %s. Its last known position, %s, is %s; whether it follows the primary shows once it runs.",
			what, rPos, onHistory)
		return d
	}
	if !R.Up {
		d.Verdict = VerdictUnknown
		d.Explanation = fmt.Sprintf("The replica is not running (%s). Its last position, %s, is %s: nothing has gone wrong yet, but it is neither restoring nor streaming.",
			orDash(R.Role, R.Process), rPos, onHistory)
		return d
	}
	if R.Receiver == nil || R.Receiver.Status != "streaming" {
		if f, ok := streamFailure(R); ok {
			d.Verdict = VerdictUnknown
			e := "replica log: " + f.Message()
			if f.Repeats > 1 {
				e += fmt.Sprintf(" (x%d)", f.Repeats)
			}
			d.Evidence = append(d.Evidence, e)
			d.Explanation = fmt.Sprintf("The replica cannot stream from the primary. %s It is at %s, %s: nothing has diverged yet, but whether it follows the primary shows only once it streams.",
				f.Explanation, rPos, onHistory)
			return d
		}
	}
	d.Verdict = VerdictHealthy
	how := "restores from the archive"
	if R.Receiver != nil && R.Receiver.Status == "streaming" {
		how = fmt.Sprintf("streams from the primary (wal receiver on timeline %d)", R.Receiver.ReceivedTLI)
	}
	d.Explanation = fmt.Sprintf("The replica %s at %s, %s; the primary is at %s. It has not passed any fork point.", how, rPos, onHistory, pPos)
	return d
}

// streamFailure is the last reason the replica's wal receiver gave for not
// streaming (it cannot connect, or its slot is missing) since the server
// last started, with how often it came.
func streamFailure(r Reading) (Finding, bool) {
	lines := r.LogTail
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "LOG:  starting PostgreSQL") {
			lines = lines[i+1:]
			break
		}
	}
	var last Finding
	found := false
	for _, f := range dedupe(ExplainLog(r.Node, lines)) {
		if f.Kind == FindCannotConnect || f.Kind == FindSlotMissing {
			last, found = f, true
		}
	}
	return last, found
}

func describe(r Reading, pos LSN, tli uint32) string {
	what := "replay"
	switch {
	case r.Up && !r.InRecovery:
		what = "flush"
	case !r.Up && r.Control != nil && r.Control.MinRecoveryPoint.Valid():
		what = "min recovery point"
	case !r.Up && r.Control != nil:
		what = "checkpoint"
	}
	src := ""
	if r.TLISource != "" {
		src = " (" + r.TLISource + ")"
	}
	return fmt.Sprintf("%s, timeline %d%s, %s %s", orDash(r.Role, r.Process), tli, src, what, pos)
}

// orDash is the role when known, else the process state, else a dash.
func orDash(a Role, b Process) string {
	if a != "" && a != RoleUnknown {
		return string(a)
	}
	if b != "" {
		return string(b)
	}
	return "-"
}

func histFile(tli uint32) string { return fmt.Sprintf("%08X.history", tli) }

func isAncestor(h History, tli uint32) bool {
	for _, e := range h.Entries {
		if e.TLI == tli {
			return true
		}
	}
	return false
}

func nextOf(nfs []NextFiles, node string) (NextFiles, bool) {
	for _, nf := range nfs {
		if nf.Node == node {
			return nf, true
		}
	}
	return NextFiles{}, false
}

// sameNewTimeline finds both servers promoting onto the same timeline ID:
// two different timelines under one number, the bluntest split of all.
func sameNewTimeline(p, r Reading) (Finding, bool) {
	sel := func(rd Reading) map[uint32]string {
		out := map[uint32]string{}
		for _, f := range ExplainLog(rd.Node, rd.LogTail) {
			if f.Kind == FindSelectedTimeline {
				out[f.Timeline] = f.Line
			}
		}
		return out
	}
	ps, rs := sel(p), sel(r)
	var tlis []uint32
	for t := range ps {
		if _, ok := rs[t]; ok {
			tlis = append(tlis, t)
		}
	}
	if len(tlis) == 0 {
		return Finding{}, false
	}
	sort.Slice(tlis, func(i, j int) bool { return tlis[i] < tlis[j] })
	t := tlis[0]
	return Finding{
		Kind: FindSameNewTimeline, Severity: SevDiverged, Node: "both", Timeline: t,
		Line: fmt.Sprintf("%s: %s | %s: %s", p.Node, StripLogPrefix(ps[t]), r.Node, StripLogPrefix(rs[t])),
		Explanation: fmt.Sprintf("Both servers promoted and selected the same new timeline ID %d. They now write two different timelines with the same number, "+
			"so WAL and history files named for timeline %d in the shared archive may come from either: the servers have split.", t, t),
	}, true
}

// Message is the finding's log line without its timestamp and pid.
func (f Finding) Message() string { return StripLogPrefix(f.Line) }

// dedupe keeps the first finding per node and message (PostgreSQL
// repeats a refused stream every 5 s), counting the repeats.
func dedupe(fs []Finding) []Finding {
	var out []Finding
	idx := map[string]int{}
	for _, f := range fs {
		key := f.Node + "\x00" + f.Message()
		if i, ok := idx[key]; ok {
			out[i].Repeats++
			continue
		}
		idx[key] = len(out)
		f.Repeats = 1
		out = append(out, f)
	}
	return out
}
