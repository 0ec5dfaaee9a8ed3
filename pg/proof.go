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
	// Standbys is each standby's proof, when the diagnosis judges more
	// than one: its marker fate against its own verdict.
	Standbys []StandbyProof `json:"standbys,omitempty"`
}

// StandbyProof is the proof on one standby: the marker's fate there
// against the verdict on it and on each node it follows up to the node
// the marker was written on.
type StandbyProof struct {
	Standby  string `json:"standby"`
	Upstream string `json:"upstream,omitempty"`
	// Verdict is the standby's verdict after the proof (unknown where the
	// data disagreed with the positions); PositionVerdict the positions'
	// and logs' alone, then.
	Verdict         Verdict     `json:"verdict"`
	PositionVerdict Verdict     `json:"position_verdict,omitempty"`
	Fate            MarkerFate  `json:"fate,omitempty"` // "" when it was not looked for
	Status          ProofStatus `json:"status"`
	Conclusion      string      `json:"conclusion"`
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

// pastFork is what the standby (who: "the replica", "standby c")
// replayed (or, run as a primary, wrote) past the fork, from the WAL read there: a sentence and the
// transactions among the records shown.
func pastFork(w *WALAtFork, who string) (string, []ProofTransaction) {
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
	did := "replayed"
	if w.Wrote {
		did = "wrote, as a primary," // two promotions: nothing was replayed
	}
	s := fmt.Sprintf("%s %s %s of timeline %d past the fork at %s, up to %s, which the new timeline does not have", capFirst(who), did, plural(w.Total, "record"), w.Timeline, w.ForkLSN, w.ReplicaLSN)
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
