package pg

import (
	"fmt"
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
	// Proof is the proof from the data (see ApplyProof), when the front
	// end applied it.
	Proof *Proof `json:"proof,omitempty"`

	ForkTimeline    uint32 `json:"fork_timeline,omitempty"`        // the timeline that forked off at ForkLSN
	ForkParent      uint32 `json:"fork_parent_timeline,omitempty"` // the timeline it left
	ReplicaTimeline uint32 `json:"replica_timeline,omitempty"`
	PrimaryLSN      LSN    `json:"primary_lsn,omitempty"`
	PrimaryTimeline uint32 `json:"primary_timeline,omitempty"`
	StalledFor      string `json:"stalled_for,omitempty"` // how long replay has stood still, when stalled
	// WrotePastFork is set when the standby was seen running as a primary
	// on the old timeline past the fork (two promotions): it wrote that
	// WAL, it did not replay it.
	WrotePastFork bool        `json:"wrote_past_fork,omitempty"`
	Findings      []Finding   `json:"findings,omitempty"`   // log lines that matter, problems and divergences only
	Next          []NextFiles `json:"next_files,omitempty"` // what each server asks the archive for next

	// Standby is the node this verdict judges, Upstream the node it was
	// judged against and UpstreamFrom how that was told (see Pair). With
	// more than one standby the verdict is the worst of theirs, and
	// Standbys holds each one's.
	Standby      string           `json:"standby,omitempty"`
	Upstream     string           `json:"upstream,omitempty"`
	UpstreamFrom string           `json:"upstream_from,omitempty"`
	Standbys     []StandbyVerdict `json:"standbys,omitempty"`
}

// StandbyVerdict is one standby's verdict against the node it follows.
type StandbyVerdict struct {
	Pair
	Verdict     Verdict `json:"verdict"`
	Explanation string  `json:"explanation"`
	ForkLSN     LSN     `json:"fork_lsn,omitempty"`
	StandbyLSN  LSN     `json:"standby_lsn,omitempty"`
	Cause       string  `json:"cause,omitempty"`
}

// Diagnose decides whether each standby follows the node it follows (see
// Snapshot.Pairs); the verdict is the worst of theirs, naming the standby
// it is about. It is pure: everything it needs is in in.
func Diagnose(in DiagnoseInput) Diagnosis {
	if in.Options.StallAfter <= 0 {
		in.Options.StallAfter = DefaultStallAfter
	}
	if in.Now.IsZero() {
		in.Now = in.Snapshot.At
	}
	pairs, promoted := judgedPairs(in.Snapshot)
	if len(in.Snapshot.Nodes) == 0 {
		// Nothing read yet: the seed's words until a poll names the nodes.
		pairs = []Pair{{Upstream: "primary", Standby: "replica", From: FromPlaybook}}
	}
	switch {
	case len(pairs) == 0 && len(promoted) > 0:
		return onlyNewPrimaries(in.Snapshot, promoted)
	case len(pairs) == 0:
		return noStandby(in.Snapshot)
	case len(pairs) == 1:
		return withNewPrimaries(in.Snapshot, judgePair(in, pairs[0]), promoted)
	}
	var worst Diagnosis
	var all []StandbyVerdict
	for i, pr := range pairs {
		d := judgePair(in, pr)
		all = append(all, StandbyVerdict{Pair: pr, Verdict: d.Verdict, Explanation: d.Explanation, ForkLSN: d.ForkLSN, StandbyLSN: d.ReplicaLSN, Cause: d.Cause})
		if i == 0 || severity(d.Verdict) > severity(worst.Verdict) {
			worst = d
		}
	}
	worst.Standbys = all
	worst.Explanation = overall(worst, all)
	return withNewPrimaries(in.Snapshot, worst, promoted)
}

// overall is the explanation of a verdict over several standbys: the
// standby it is about named first, then each other standby's verdict.
func overall(worst Diagnosis, all []StandbyVerdict) string {
	var others []string
	for _, sv := range all {
		if sv.Standby != worst.Standby {
			others = append(others, fmt.Sprintf("%s %s (following %s)", sv.Standby, sv.Verdict, sv.Upstream))
		}
	}
	rest := "The other standbys: " + strings.Join(others, ", ") + "."
	if worst.Verdict == VerdictHealthy {
		var each []string
		for _, sv := range all {
			each = append(each, sv.Explanation)
		}
		return fmt.Sprintf("All %d standbys follow their upstreams without passing a fork point. %s", len(all), strings.Join(each, " "))
	}
	return fmt.Sprintf("%s is %s (of %d standbys, judged against %s). %s %s", worst.Standby, worst.Verdict, len(all), worst.Upstream, worst.Explanation, rest)
}

// severity orders verdicts for the overall one: a standby that diverged
// outweighs one that stalled, which outweighs one not yet known, which
// outweighs a healthy one.
func severity(v Verdict) int {
	switch v {
	case VerdictDiverged:
		return 3
	case VerdictStalled:
		return 2
	case VerdictUnknown:
		return 1
	}
	return 0
}

// noStandby is the verdict of a lab that runs no standby.
func noStandby(s Snapshot) Diagnosis {
	return Diagnosis{Verdict: VerdictUnknown, Evidence: []string{}, Next: NextWanted(s),
		Explanation: "The playbook declares no standby, so there is no server to judge against another."}
}

// judgePair is the verdict on one standby against the node it follows:
// the seed's rules, worded with the pair's names.
func judgePair(in DiagnoseInput, pr Pair) Diagnosis {
	j := newJudge(in, pr)
	d := j.judge()
	d.Standby, d.Upstream, d.UpstreamFrom = pr.Standby, pr.Upstream, pr.From
	w := pairWords(in.Snapshot, pr)
	d.Explanation, d.Cause = w.Replace(d.Explanation), w.Replace(d.Cause)
	return d
}

// pairWords rewords the judge's sentences, which call the pair the
// primary and the replica, for a pair with other names: "standby c",
// "primary a" (a node that follows none) or "upstream b". The seed's
// pair keeps its words.
func pairWords(s Snapshot, pr Pair) *strings.Replacer {
	var pairs []string
	if pr.Standby != "replica" {
		w := "standby " + pr.Standby
		pairs = append(pairs, "The replica", "S"+w[1:], "the replica", w)
	}
	if pr.Upstream != "primary" {
		w := "primary " + pr.Upstream
		if u := s.Node(pr.Upstream); u.Upstream != "" && !newPrimary(s, u) {
			w = "upstream " + pr.Upstream
		}
		pairs = append(pairs, "The primary", strings.ToUpper(w[:1])+w[1:], "the primary", w)
	}
	return strings.NewReplacer(pairs...)
}

// judge runs the seed's rules over the pair.
func (j *judge) judge() Diagnosis {
	j.readLogs()
	j.placeFork()
	if why := j.positionsDiverge(); len(why) > 0 || len(j.diverging) > 0 {
		return j.diverged(why)
	}
	if d, ok := j.cannotTell(); ok {
		return d
	}
	if len(j.unattributed) > 0 {
		return j.refusedUnknownWhich()
	}
	return j.following()
}

// judge is what Diagnose has worked out so far about one standby (R) and
// the node it follows (P) in one snapshot.
type judge struct {
	in         DiagnoseInput
	s          Snapshot
	pr         Pair
	P, R       Reading
	pPos, rPos LSN
	pTLI, rTLI uint32
	target     uint32  // the timeline the replica must follow: the primary's
	hist       History // target's history file, when haveHist
	haveHist   bool
	diverging  []Finding // log lines that prove a divergence
	// unattributed are the upstream's refusals that may be this standby's
	// or another's of the same upstream.
	unattributed []refusal
	d            Diagnosis
}

func newJudge(in DiagnoseInput, pr Pair) *judge {
	s := in.Snapshot
	j := &judge{in: in, s: s, pr: pr, P: s.Node(pr.Upstream), R: s.Node(pr.Standby)}
	j.pPos, j.pTLI = PositionOf(j.P)
	j.rPos, j.rTLI = PositionOf(j.R)
	j.d = Diagnosis{Evidence: []string{}, ReplicaLSN: j.rPos, ReplicaTimeline: j.rTLI, PrimaryLSN: j.pPos, PrimaryTimeline: j.pTLI}
	j.d.Next = NextWanted(s)
	return j
}

// readLogs keeps the log lines that matter and those that prove a
// divergence.
func (j *judge) readLogs() {
	P, R, d := j.P, j.R, &j.d
	theirs, unsure := attributeRefusals(j.s, P, R, ExplainLog(P.Node, P.LogTail))
	j.unattributed = unsure
	findings := append(theirs, ExplainLog(R.Node, R.LogTail)...)
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
	j.diverging = newestOfEach(diverging)
}

// placeFork finds the fork the replica must not pass in the primary's
// history, with the servers' positions as evidence.
func (j *judge) placeFork() {
	s, P, R, d := j.s, j.P, j.R, &j.d
	pPos, pTLI, rPos, rTLI := j.pPos, j.pTLI, j.rPos, j.rTLI
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
		d.Evidence = append(d.Evidence, P.Node+": "+describe(P, pPos, pTLI))
	}
	if rPos.Valid() || rTLI != 0 {
		d.Evidence = append(d.Evidence, R.Node+": "+describe(R, rPos, rTLI))
	}
	j.target, j.hist, j.haveHist = target, hist, haveHist
}

// positionsDiverge says why the positions alone show a divergence: past
// the fork, off the primary's history, promoted, or ahead of the primary.
func (j *judge) positionsDiverge() []string {
	s, in, P, R, d, diverging := j.s, j.in, j.P, j.R, &j.d, j.diverging
	rPos, rTLI, target, hist, haveHist := j.rPos, j.rTLI, j.target, j.hist, j.haveHist
	replicaKnown := rPos.Valid() && rTLI != 0
	var why []string
	if replicaKnown && haveHist && target != 0 && !hist.Contains(rTLI, rPos) {
		if isAncestor(hist, rTLI) {
			// No "already": the replica may have gone past the fork after
			// the primary forked (as it does when it restarts and finds only
			// the old timeline's segment), so say where it is, not when.
			did := "replayed"
			if _, _, ok := wrotePastFork(s, in.Earlier, R.Node, d.ForkParent, d.ForkLSN); ok {
				did, d.WrotePastFork = "written, as a primary,", true // a split brain, not a restore
			}
			why = append(why, fmt.Sprintf("The primary forked timeline %d off timeline %d at %s, and the replica has %s timeline %d up to %s, past that point. "+
				"Its data holds WAL of timeline %d that timeline %d does not have, so it cannot follow the primary.",
				d.ForkTimeline, d.ForkParent, d.ForkLSN, did, rTLI, rPos, rTLI, d.ForkTimeline))
			d.Evidence = append(d.Evidence, fmt.Sprintf("%s position %s on timeline %d is past the fork point %s", R.Node, rPos, rTLI, d.ForkLSN))
		} else {
			why = append(why, fmt.Sprintf("The replica is on timeline %d, which is not part of the primary's timeline %d history: the two servers have split.", rTLI, target))
			d.Evidence = append(d.Evidence, fmt.Sprintf("timeline %d is not in %s", rTLI, histFile(target)))
		}
	}
	if R.Up && !R.InRecovery && P.Up && !P.InRecovery {
		left := "has left recovery and runs"
		if d.WrotePastFork {
			left = "runs" // it may never have been in recovery
		}
		why = append(why, fmt.Sprintf("The replica %s as a primary on timeline %d: it no longer follows anything.", left, rTLI))
		d.Evidence = append(d.Evidence, R.Node+": not in recovery (promoted)")
	}
	if a, ok := aheadProof(s, j.pr, in.Earlier, diverging); ok && len(why) == 0 {
		why = append(why, fmt.Sprintf("The replica is ahead of the primary on timeline %d: it replayed up to %s while the primary has written only up to %s, so it replayed WAL the primary never wrote.",
			rTLI, a.replica, a.primary))
		d.Evidence = append(d.Evidence, fmt.Sprintf("%[1]s %[3]s is ahead of the %[2]s's flush position %[4]s (%[2]s read after the %[1]s)", R.Node, P.Node, a.replica, a.primary))
	}
	for _, f := range diverging {
		e := f.Node + " log: " + f.Message()
		if f.Repeats > 1 {
			e += fmt.Sprintf(" (x%d)", f.Repeats)
		}
		d.Evidence = append(d.Evidence, e)
	}
	return why
}

// diverged is the verdict when the positions or PostgreSQL show it.
func (j *judge) diverged(why []string) Diagnosis {
	s, in, d, diverging := j.s, j.in, &j.d, j.diverging
	d.Verdict = VerdictDiverged
	if len(why) == 0 {
		why = append(why, "PostgreSQL reports the divergence: "+diverging[0].Explanation)
	}
	if f, ok := streamFailure(j.R); ok {
		// The line the user reads in the replica's log: it could not
		// stream anyway, whatever the positions say.
		e := j.R.Node + " log: " + f.Message()
		if f.Repeats > 1 {
			e += fmt.Sprintf(" (x%d)", f.Repeats)
		}
		d.Evidence = append(d.Evidence, e)
		why = append(why, fmt.Sprintf("Its wal receiver cannot stream in any case: its log says “%s”. %s", f.Message(), f.Explanation))
	}
	d.Explanation = strings.Join(why, " ")
	d.Cause = findCause(s, j.pr, in.Earlier, *d) // shown once, by whoever prints Cause
	// pg_rewind is not offered: it needs data checksums or
	// wal_log_hints = on, which initdb's defaults (the lab's) lack.
	d.Explanation += " To follow the primary again it must be rebuilt from a new backup taken after the fork."
	return *d
}

// cannotTell is an unknown verdict when a position or the history is
// missing, or the stalled verdict when the replica stands still.
func (j *judge) cannotTell() (Diagnosis, bool) {
	s, in, R, d := j.s, j.in, j.R, &j.d
	pPos, pTLI, rPos, rTLI, target, haveHist := j.pPos, j.pTLI, j.rPos, j.rTLI, j.target, j.haveHist
	replicaKnown := rPos.Valid() && rTLI != 0
	switch {
	case pTLI == 0 && !pPos.Valid():
		d.Verdict = VerdictUnknown
		d.Explanation = "No reading of the primary yet, so there is no timeline to compare the replica with."
		return *d, true
	case !replicaKnown:
		d.Verdict = VerdictUnknown
		d.Explanation = "No position of the replica yet (it is not created, starting, or its data dir cannot be read)."
		return *d, true
	case !haveHist && rTLI != target:
		d.Verdict = VerdictUnknown
		d.Explanation = fmt.Sprintf("The primary is on timeline %d but %s has not been seen, so where timeline %d forked off is unknown.", target, histFile(target), target)
		return *d, true
	}

	if st, ok := stalled(s, j.pr, in.Earlier, in.Now, in.Options.StallAfter); ok {
		d.Verdict = VerdictStalled
		d.StalledFor = st.dur.Round(time.Second).String()
		d.Evidence = append(d.Evidence, fmt.Sprintf("%s replay has stayed at %s since %s (%s) while the %s moved from %s to %s",
			R.Node, rPos, st.since.UTC().Format("15:04:05"), d.StalledFor, j.P.Node, st.pFrom, st.pTo))
		d.Explanation = fmt.Sprintf("The replica has not replayed anything for %s while the primary wrote WAL from %s to %s.", d.StalledFor, st.pFrom, st.pTo)
		if !R.Streams() {
			d.Explanation += " It does not stream from the primary"
			if nf, ok := nextOf(d.Next, R.Node); ok && nf.Uses == "" && len(nf.Segments) > 0 {
				d.Explanation += fmt.Sprintf(", and the archive lacks %s, which it asks for next", nf.Segments[0].Name)
			}
			d.Explanation += "."
		}
		return *d, true
	}
	return Diagnosis{}, false
}

// following is the verdict on a replica that has passed no fork: healthy,
// or unknown while it does not run or cannot stream.
func (j *judge) following() Diagnosis {
	R, d := j.R, &j.d
	pPos, rPos, rTLI, target := j.pPos, j.rPos, j.rTLI, j.target
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
		return *d
	}
	if !R.Up {
		d.Verdict = VerdictUnknown
		d.Explanation = fmt.Sprintf("The replica is not running (%s). Its last position, %s, is %s: nothing has gone wrong yet, but it is neither restoring nor streaming.",
			orDash(R.Role, R.Process), rPos, onHistory)
		return *d
	}
	if !R.Streams() {
		if f, ok := streamFailure(R); ok {
			d.Verdict = VerdictUnknown
			e := R.Node + " log: " + f.Message()
			if f.Repeats > 1 {
				e += fmt.Sprintf(" (x%d)", f.Repeats)
			}
			d.Evidence = append(d.Evidence, e)
			d.Explanation = fmt.Sprintf("The replica cannot stream from the primary. %s It is at %s, %s: nothing has diverged yet, but whether it follows the primary shows only once it streams.",
				f.Explanation, rPos, onHistory)
			return *d
		}
		if why, ok := unconfirmedStream(R); ok {
			d.Verdict = VerdictUnknown
			d.Evidence = append(d.Evidence, R.Node+": "+why)
			d.Explanation = fmt.Sprintf("The replica's wal receiver %s, but nothing shows it streaming: the primary has no walsender streaming to it and it has received no WAL. It is at %s, %s; whether it follows the primary shows once it streams or PostgreSQL says why not.",
				why, rPos, onHistory)
			return *d
		}
	}
	d.Verdict = VerdictHealthy
	how := "restores from the archive"
	if R.Streams() {
		how = fmt.Sprintf("streams from the primary on timeline %d (%s)", R.Receiver.ReceivedTLI, R.Receiver.Proof)
	}
	d.Explanation = fmt.Sprintf("The replica %s at %s, %s; the primary is at %s. It has not passed any fork point.", how, rPos, onHistory, pPos)
	return *d
}

// StandbyName is the standby the verdict is about; the seed's replica
// for a diagnosis that names none.
func (d Diagnosis) StandbyName() string {
	if d.Standby == "" {
		return "replica"
	}
	return d.Standby
}
