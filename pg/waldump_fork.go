package pg

import (
	"fmt"
	"strings"
)

// WALRange is the WAL of one timeline between two positions, as read.
type WALRange struct {
	Timeline uint32 `json:"timeline"`
	From     LSN    `json:"from"`
	To       LSN    `json:"to,omitempty"` // exclusive; zero: up to the end of what was written
	Source   string `json:"source,omitempty"`
	// Records are the records shown: all of them when few, else the
	// first and the last ShowEnds (see Omitted and Summary).
	Records []WALRecord `json:"records"`
	Total   int         `json:"total"`             // records read in the range
	Omitted int         `json:"omitted,omitempty"` // records read but not in Records
	Summary []WALGroup  `json:"summary,omitempty"` // per rmgr and type, when Omitted > 0
	// Transactions that wrote in the range, how many committed there, and
	// the relations they wrote to.
	Transactions int      `json:"transactions"`
	Committed    int      `json:"committed"`
	Tables       []string `json:"tables,omitempty"`
	// Capped says the range was longer than the reader reads, and where
	// it stopped.
	Capped string `json:"capped,omitempty"`
	// Err is why the range could not be read (or read whole), one line.
	Err string `json:"error,omitempty"`
}

// WALAtFork is the WAL at the fork of the timeline the replica must
// follow: what the replica replayed on the old timeline past the fork
// point (its data has it, the new timeline does not) and the first
// records of the new timeline (what the primary has instead).
type WALAtFork struct {
	ForkLSN    LSN    `json:"fork_lsn"`
	Reason     string `json:"fork_reason,omitempty"`
	ReplicaLSN LSN    `json:"replica_lsn"`
	// Standby is the node whose WAL past the fork was read, Upstream the
	// one whose new timeline was ("" in a read from before nodes were
	// named: the replica and the primary).
	Standby  string `json:"standby,omitempty"`
	Upstream string `json:"upstream,omitempty"`
	// Wrote is set when the standby wrote this WAL itself, run as a
	// primary on the old timeline (Diagnosis.WrotePastFork).
	Wrote bool `json:"wrote,omitempty"`
	WALRange
	NewTimeline WALRange `json:"new_timeline"`
	Sentence    string   `json:"sentence"`
	// Note says why there is nothing to show (no fork, the replica has
	// not passed it), when that is so.
	Note string `json:"note,omitempty"`
	// ReadMS is how long reading took, in milliseconds.
	ReadMS int64 `json:"read_ms"`
}

// ShowAll and ShowEnds bound the records shown of a range: up to ShowAll
// are all shown, else the first and last ShowEnds with a summary.
const (
	ShowAll  = 40
	ShowEnds = 8
)

// setRecords fills the range from the records read.
func (r *WALRange) setRecords(recs []WALRecord) {
	r.Total = len(recs)
	xids, committed := Transactions(recs)
	r.Transactions, r.Committed = len(xids), committed
	r.Tables = touched(recs)
	if len(recs) <= ShowAll {
		r.Records = recs
		if r.Records == nil {
			r.Records = []WALRecord{}
		}
		return
	}
	r.Summary = Summarise(recs)
	r.Records = append(append([]WALRecord{}, recs[:ShowEnds]...), recs[len(recs)-ShowEnds:]...)
	r.Omitted = len(recs) - 2*ShowEnds
}

// First and Last are the range's first and last records read.
func (r WALRange) First() (WALRecord, bool) {
	if len(r.Records) == 0 {
		return WALRecord{}, false
	}
	return r.Records[0], true
}

// Last is the range's last record read.
func (r WALRange) Last() (WALRecord, bool) {
	if len(r.Records) == 0 {
		return WALRecord{}, false
	}
	return r.Records[len(r.Records)-1], true
}

// describeSentence builds the diagnosis's sentence from the records past
// the fork.
func (w *WALAtFork) describeSentence() string {
	if w.Note != "" {
		return ""
	}
	if w.Err != "" && w.Total == 0 {
		return fmt.Sprintf("The WAL past the fork could not be read: %s.", strings.TrimSuffix(w.Err, "."))
	}
	if w.Total == 0 {
		return fmt.Sprintf("pg_waldump finds no record of timeline %d between the fork %s and %s's position %s.", w.Timeline, w.ForkLSN, w.StandbyNoun(), w.ReplicaLSN)
	}
	first, _ := w.First()
	last, _ := w.Last()
	where := ""
	if w.ReplicaLSN.Valid() && uint64(w.ReplicaLSN)%WALSegSize == 0 && w.ReplicaLSN > 0 {
		prevSeg := WALFileName(w.Timeline, w.ReplicaLSN-1)
		where = fmt.Sprintf("the end of segment %s, %s", prevSeg, w.ReplicaLSN)
	} else {
		where = w.ReplicaLSN.String()
	}
	if w.Total == 1 {
		what := ""
		if first.Rmgr == "XLOG" && first.Type == "SWITCH" && first.LSN == w.ForkLSN && strings.Contains(w.Reason, "consistency") {
			what = " (the end-of-backup switch)"
		}
		how := "replaying"
		if w.Wrote {
			how = "writing"
		}
		return fmt.Sprintf("The only record past the fork is %s at %s%s; %s it moved %s to %s.", first.Kind(), first.LSN, what, how, w.StandbyNoun(), where)
	}
	did := "replayed"
	if w.Wrote {
		did = "wrote, as a primary,"
	}
	s := fmt.Sprintf("%s %s %d records of timeline %d past the fork, from %s at %s to %s at %s, and stands at %s", capFirst(w.StandbyNoun()), did, w.Total, w.Timeline, first.Kind(), first.LSN, last.Kind(), last.LSN, where)
	if w.Transactions > 0 {
		s += fmt.Sprintf("; they carry data: %s (%d committed) writing to %s",
			plural(w.Transactions, "transaction"), w.Committed, listNames(w.Tables, 4))
	} else {
		s += "; none carries data (no transaction wrote)"
	}
	if w.Capped != "" {
		s += " (" + w.Capped + ")"
	}
	return s + "."
}

// StandbyNoun names the standby read in a sentence: the seed's "the
// replica", else "standby c".
func (w *WALAtFork) StandbyNoun() string {
	if w.Standby == "" || w.Standby == "replica" {
		return "the replica"
	}
	return "standby " + w.Standby
}

// UpstreamNoun names the node whose new timeline was read: the seed's
// "the primary", else its name.
func (w *WALAtFork) UpstreamNoun() string {
	if w.Upstream == "" || w.Upstream == "primary" {
		return "the primary"
	}
	return w.Upstream
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func listNames(names []string, max int) string {
	if len(names) == 0 {
		return "no relation"
	}
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:max], ", "), len(names)-max)
}

// ApplyTo puts the sentence into a divergence's explanation: it is the
// mechanism, what the replica replayed that the primary's timeline lacks.
func (w *WALAtFork) ApplyTo(d *Diagnosis) {
	if w == nil || w.Sentence == "" || d == nil || d.Verdict != VerdictDiverged {
		return
	}
	d.Explanation += " " + w.Sentence
}
