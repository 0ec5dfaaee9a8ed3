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
	pg.ApplyProof(&d, w, in)
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
	pg.ApplyProof(&unknown, nil, pg.ProofInput{Missing: "step P, the proof step, was skipped, so walstep wrote no marker row"})
	diagGolden(t, "proof_unknown_text", Diagnosis(unknown, text))
}

// proofThreeNodes is a failover's end: b promoted, a its healthy standby,
// c diverged against b; the marker written on b found on a, absent on c
// (fate b for b's own look).
func proofThreeNodes(aFate pg.MarkerFate) pg.Diagnosis {
	base := proofDiagnosis(pg.MarkerAbsent)
	d := pg.Diagnosis{Verdict: pg.VerdictDiverged, Standby: "c", Upstream: "b", UpstreamFrom: pg.FromConninfo,
		Explanation: "c is diverged (of 2 standbys, judged against b). Primary b forked timeline 2 off timeline 1 at 0/2000100, and standby c has replayed timeline 1 up to 0/3000000, past that point. The other standbys: a healthy (following b).",
		Evidence:    []string{"c: replay 0/3000000 on timeline 1", "a: streaming timeline 2 from b at 0/3000260"},
		Standbys: []pg.StandbyVerdict{
			{Pair: pg.Pair{Upstream: "b", Standby: "a", From: pg.FromReceiver}, Verdict: pg.VerdictHealthy, Explanation: "Standby a streams from primary b on timeline 2 at 0/3000260."},
			{Pair: pg.Pair{Upstream: "b", Standby: "c", From: pg.FromConninfo}, Verdict: pg.VerdictDiverged, Explanation: "Primary b forked timeline 2 off timeline 1 at 0/2000100."}}}
	lsn := func(s string) pg.LSN { l, _ := pg.ParseLSN(s); return l }
	w := &pg.WALAtFork{ForkLSN: lsn("0/2000100"), ReplicaLSN: lsn("0/3000000")}
	w.Timeline, w.Total, w.Transactions, w.Committed = 1, 5, 2, 1
	w.Records = []pg.WALRecord{{LSN: lsn("0/2000128"), Rmgr: "Heap", Type: "INSERT", XID: 728, Relations: []string{"t"}}, {LSN: lsn("0/20001B0"), Rmgr: "Transaction", Type: "COMMIT", XID: 728}}
	id := base.Proof.Marker.ID
	in := pg.ProofInput{Write: &pg.MarkerWrite{ID: id, Node: "b", LSN: lsn("0/3000300"), Step: "7"},
		Checks: []pg.MarkerCheck{{ID: id, Node: "a", Fate: aFate, Deadline: "30s", After: "60ms", Step: "7"}, {ID: id, Node: "c", Fate: pg.MarkerAbsent, Deadline: "30s", Step: "7"}}}
	pg.ApplyProof(&d, w, in)
	return d
}

// The proof on every standby of three nodes, as the text report draws
// it: each one's marker against its own verdict, then the conclusion; a
// healthy standby without the marker is the disagreement, named.
func TestGoldenProofThreeNodes(t *testing.T) {
	text := DiagnosisForm{Heading: "== Diagnosis: X", Sep: "\n", End: "\n", Bullet: "  - "}
	diagGolden(t, "proof_three_nodes_text", Diagnosis(proofThreeNodes(pg.MarkerFound), text))
	diagGolden(t, "proof_three_nodes_disagrees_text", Diagnosis(proofThreeNodes(pg.MarkerAbsent), text))
}
