package pg

import (
	"fmt"
	"strings"
)

// MarkerWrite is a marker row walstep committed on a node and waited for
// until the node had flushed it (the playbook's marker write).
type MarkerWrite struct {
	ID   string `json:"id"`
	Node string `json:"node"`
	LSN  LSN    `json:"lsn"` // the node's WAL insert position just after the commit
	Step string `json:"step,omitempty"`
}

// MarkerFate is what one look for a marker on a node found.
type MarkerFate string

// Marker fates of a marker check.
const (
	MarkerFound    MarkerFate = "found"     // the node holds the row
	MarkerAbsent   MarkerFate = "absent"    // the node answered, up to the deadline, that it does not
	MarkerNoAnswer MarkerFate = "no answer" // the node never answered within the deadline
)

// MarkerCheck is one look for a marker on a node (marker check).
type MarkerCheck struct {
	ID       string     `json:"id"`
	Node     string     `json:"node"`
	Fate     MarkerFate `json:"fate"`
	Deadline string     `json:"deadline"`        // how long it was looked for
	After    string     `json:"after,omitempty"` // how long it took to show, when found
	Err      string     `json:"error,omitempty"` // why the node did not answer
	Step     string     `json:"step,omitempty"`
	// At is when the look ended (UTC, 15:04:05): the proof is of that
	// moment, while the positions are the latest poll's.
	At string `json:"at,omitempty"`
}

// ProofInput is what a run did towards the proof from the data: the last
// marker written in this pass and the looks for it.
type ProofInput struct {
	Write  *MarkerWrite  `json:"write,omitempty"`
	Checks []MarkerCheck `json:"checks,omitempty"`
	// Missing says why there is no marker, or no look for it, to judge
	// by (the proof step skipped, not reached, failed); "" when there is.
	Missing string `json:"missing,omitempty"`
}

// ProofStatus is how the data stands to the positions and logs.
type ProofStatus string

// Proof statuses.
const (
	ProofAgrees    ProofStatus = "agrees"    // the marker's fate is what the verdict implies
	ProofDisagrees ProofStatus = "disagrees" // it is not: the verdict says so and is unknown
	ProofUnknown   ProofStatus = "unknown"   // no marker to judge by, or the verdict implies no fate
)

// Proof is the proof from the data: what the standby replayed past the
// fork, the marker row's fate on each node, and the conclusion.
type Proof struct {
	Status   ProofStatus  `json:"status"`
	Marker   *MarkerWrite `json:"marker,omitempty"`
	Nodes    []ProofNode  `json:"nodes,omitempty"`
	PastFork string       `json:"past_fork,omitempty"` // the records past the fork, in prose
	// Transactions are those the standby replayed past the fork, as
	// the WAL view names their relations (of the records it shows).
	Transactions []ProofTransaction `json:"transactions,omitempty"`
	Conclusion   string             `json:"conclusion"`
	// PositionVerdict is the verdict of the positions and logs alone,
	// when the data disagrees with it (the verdict is then unknown).
	PositionVerdict Verdict `json:"position_verdict,omitempty"`
}

// ProofNode is the marker's fate on one node, in a line.
type ProofNode struct {
	Node string `json:"node"`
	Fate string `json:"fate"` // "written", or a MarkerFate
	Text string `json:"text"`
}

// ProofTransaction is one transaction past the fork.
type ProofTransaction struct {
	XID       uint32   `json:"xid"`
	Committed bool     `json:"committed"`
	Relations []string `json:"relations,omitempty"`
}

// ApplyProof puts the proof from the data into d, a diagnosis of standby
// (w the WAL read at its fork, nil when not read), and applies the one
// rule where data and positions meet: when the marker's fate on the
// standby contradicts the verdict (diverged or stalled yet the marker
// arrived; healthy yet it did not), the verdict becomes unknown and says
// why, with both sides, instead of picking one.
func ApplyProof(d *Diagnosis, standby string, w *WALAtFork, in ProofInput) {
	if d == nil {
		return
	}
	p := &Proof{Status: ProofUnknown, Marker: in.Write}
	p.PastFork, p.Transactions = pastFork(w, standby)
	d.Proof = p
	var check *MarkerCheck
	if in.Write != nil {
		p.Nodes = append(p.Nodes, ProofNode{Node: in.Write.Node, Fate: "written",
			Text: fmt.Sprintf("marker %s committed at %s and flushed there (step %s)", in.Write.ID, in.Write.LSN, in.Write.Step)})
		for i, c := range in.Checks {
			if c.ID != in.Write.ID {
				continue
			}
			p.Nodes = append(p.Nodes, ProofNode{Node: c.Node, Fate: string(c.Fate), Text: checkText(c)})
			if c.Node == standby {
				check = &in.Checks[i]
			}
		}
	}
	switch {
	case in.Write == nil || check == nil:
		why := in.Missing
		if why == "" && in.Write != nil {
			why = fmt.Sprintf("the marker was not looked for on the %s", standby)
		}
		if why == "" {
			why = "no marker row was written"
		}
		p.Conclusion = "The proof from the data is unknown: " + why + "."
		return
	case check.Fate == MarkerNoAnswer:
		p.Conclusion = fmt.Sprintf("The proof from the data is unknown: the %s did not answer within %s, so whether it holds the marker cannot be told.", standby, check.Deadline)
		return
	}
	found := check.Fate == MarkerFound
	fate := fmt.Sprintf("the marker row committed and flushed on the %s at %s reached the %s after %s", in.Write.Node, in.Write.LSN, standby, check.After)
	if !found {
		fate = fmt.Sprintf("the marker row committed and flushed on the %s at %s did not reach the %s within %s", in.Write.Node, in.Write.LSN, standby, check.Deadline)
	}
	switch {
	case d.Verdict == VerdictDiverged && !found:
		p.Status = ProofAgrees
		p.Conclusion = "The data agrees with the verdict: " + fate + ", so the " + standby + " does not follow the " + in.Write.Node
		if p.PastFork != "" {
			p.Conclusion += ", and it holds WAL past the fork that the " + in.Write.Node + "'s timeline never had"
		}
		p.Conclusion += "."
	case d.Verdict == VerdictHealthy && found:
		p.Status = ProofAgrees
		p.Conclusion = "The data agrees with the verdict: " + fate + ", so the " + standby + " replays the " + in.Write.Node + "'s WAL."
	case d.Verdict == VerdictStalled && !found:
		p.Status = ProofAgrees
		p.Conclusion = "The data agrees with the verdict: " + fate + ", as a replay that stands still implies."
	case d.Verdict == VerdictUnknown:
		p.Conclusion = "Positions and logs cannot tell yet; the data alone: " + fate + "."
	default:
		p.Status, p.PositionVerdict = ProofDisagrees, d.Verdict
		implies := map[bool]string{true: "a " + standby + " that does not follow the " + in.Write.Node + " never gets it", false: "a " + standby + " that follows the " + in.Write.Node + " replays it within well under a second"}[found]
		p.Conclusion = fmt.Sprintf("The data and the positions disagree: positions and logs say %s, yet %s, and %s. walstep does not pick one: the verdict is unknown.", d.Verdict, fate, implies)
		// A copy: the watch may keep the slice it returned.
		d.Evidence = append(d.Evidence[:len(d.Evidence):len(d.Evidence)], fmt.Sprintf("positions and logs alone: %s (%s)", d.Verdict, firstSentence(d.Explanation)))
		d.Explanation = p.Conclusion + " Positions and logs alone: " + d.Explanation
		d.Verdict = VerdictUnknown
	}
}

// checkText is a marker check's result in a line.
func checkText(c MarkerCheck) string {
	step := "step " + c.Step
	if c.At != "" {
		step += ", " + c.At
	}
	switch c.Fate {
	case MarkerFound:
		return fmt.Sprintf("found after %s (%s)", c.After, step)
	case MarkerAbsent:
		return fmt.Sprintf("absent within %s: it answered, without the row (%s)", c.Deadline, step)
	}
	s := fmt.Sprintf("no answer within %s (%s)", c.Deadline, step)
	if c.Err != "" {
		s += ": " + c.Err
	}
	return s
}

// pastFork is what the standby replayed past the fork, from the WAL read
// there: a sentence and the transactions among the records shown.
func pastFork(w *WALAtFork, standby string) (string, []ProofTransaction) {
	if w == nil || w.Note != "" {
		return "", nil
	}
	if w.Total == 0 {
		if w.Err != "" {
			return fmt.Sprintf("The WAL past the fork could not be read: %s.", strings.TrimSuffix(w.Err, ".")), nil
		}
		return "", nil
	}
	var txs []ProofTransaction
	at := map[uint32]int{}
	for _, r := range w.Records {
		if r.XID == 0 {
			continue
		}
		i, ok := at[r.XID]
		if !ok {
			i = len(txs)
			at[r.XID] = i
			txs = append(txs, ProofTransaction{XID: r.XID})
		}
		if r.Rmgr == "Transaction" && (r.Type == "COMMIT" || r.Type == "COMMIT_PREPARED") {
			txs[i].Committed = true
		}
		for _, n := range recordRelations(r) {
			if !containsString(txs[i].Relations, n) {
				txs[i].Relations = append(txs[i].Relations, n)
			}
		}
	}
	s := fmt.Sprintf("The %s replayed %s of timeline %d past the fork at %s, up to %s, which the new timeline does not have", standby, plural(w.Total, "record"), w.Timeline, w.ForkLSN, w.ReplicaLSN)
	them := map[bool]string{true: "it", false: "them"}[w.Total == 1]
	if w.Transactions == 0 {
		return s + "; no transaction wrote in " + them + ".", nil
	}
	s += fmt.Sprintf("; %s wrote in %s (%d committed)", plural(w.Transactions, "transaction"), them, w.Committed)
	var each []string
	for i, t := range txs {
		if i == 4 {
			each = append(each, fmt.Sprintf("and %d more", len(txs)-4))
			break
		}
		state := "not committed there"
		if t.Committed {
			state = "committed"
		}
		each = append(each, fmt.Sprintf("xid %d (%s) writing to %s", t.XID, state, listNames(t.Relations, 3)))
	}
	s += ": " + strings.Join(each, "; ")
	if w.Omitted > 0 {
		s += fmt.Sprintf(" (of the %d records shown)", len(w.Records))
	}
	return s + ".", txs
}

// recordRelations names a record's relations as the WAL view does.
func recordRelations(r WALRecord) []string {
	if len(r.Relations) > 0 {
		return r.Relations
	}
	var out []string
	for _, rf := range r.Rels {
		out = append(out, "rel "+rf.String())
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// firstSentence is s up to its first full stop.
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i]
	}
	return strings.TrimSuffix(s, ".")
}
