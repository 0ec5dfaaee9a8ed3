package present

import (
	"testing"

	"walstep/pg"
)

// proofDiagnosis is a diverged diagnosis with the proof of a default run:
// two transactions past the fork, the marker written on the primary and
// absent on the replica.
func proofDiagnosis(fate pg.MarkerFate) pg.Diagnosis {
	lsn := func(s string) pg.LSN { l, _ := pg.ParseLSN(s); return l }
	w := &pg.WALAtFork{ForkLSN: lsn("0/2000100"), ReplicaLSN: lsn("0/3000000")}
	w.Timeline, w.Total, w.Transactions, w.Committed = 1, 5, 2, 1
	w.Records = []pg.WALRecord{
		{LSN: lsn("0/2000100"), Rmgr: "XLOG", Type: "SWITCH"},
		{LSN: lsn("0/2000128"), Rmgr: "Heap", Type: "INSERT", XID: 728, Relations: []string{"test"}},
		{LSN: lsn("0/2000170"), Rmgr: "Btree", Type: "INSERT_LEAF", XID: 728, Relations: []string{"test_pkey (index)"}},
		{LSN: lsn("0/20001B0"), Rmgr: "Transaction", Type: "COMMIT", XID: 728},
		{LSN: lsn("0/20001D8"), Rmgr: "Heap", Type: "INSERT", XID: 729, Rels: []pg.RelFile{{Spc: 1663, DB: 5, Node: 16390}}},
	}
	d := pg.Diagnosis{Verdict: pg.VerdictDiverged, Explanation: "The primary forked timeline 2 off timeline 1 at 0/2000100, and the replica has replayed timeline 1 up to 0/3000000, past that point.",
		Evidence: []string{"replica: replay 0/3000000 on timeline 1"}}
	in := pg.ProofInput{Write: &pg.MarkerWrite{ID: "walstep-20261201T000000.000000000", Node: "primary", LSN: lsn("0/2000260"), Step: "P"},
		Checks: []pg.MarkerCheck{{ID: "walstep-20261201T000000.000000000", Node: "replica", Fate: fate, Deadline: "5s", After: "90ms", Step: "P"}}}
	pg.ApplyProof(&d, "replica", w, in)
	return d
}

// The proof block as the text report and the Markdown report draw it, on
// a run where the data agrees and on one where it does not.
func TestGoldenProofBlock(t *testing.T) {
	text := DiagnosisForm{Heading: "== Diagnosis: X", Sep: "\n", End: "\n", Bullet: "  - "}
	md := DiagnosisForm{Heading: "## Diagnosis", Sep: "\n\n", End: "\n\n", Explanation: ExplainNowhere, EvidenceTitle: "Evidence:\n\n", Bullet: "- ", Item: inline}
	diagGolden(t, "proof_agrees_text", Diagnosis(proofDiagnosis(pg.MarkerAbsent), text))
	diagGolden(t, "proof_agrees_markdown", Diagnosis(proofDiagnosis(pg.MarkerAbsent), md))
	diagGolden(t, "proof_disagrees_text", Diagnosis(proofDiagnosis(pg.MarkerFound), text))
	unknown := pg.Diagnosis{Verdict: pg.VerdictDiverged, Evidence: []string{}}
	pg.ApplyProof(&unknown, "replica", nil, pg.ProofInput{Missing: "step P, the proof step, was skipped, so walstep wrote no marker row"})
	diagGolden(t, "proof_unknown_text", Diagnosis(unknown, text))
}
