package pg

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// proofFixture is the default lab's WAL past the fork, its relations
// named as the primary names them.
func proofFixture(t *testing.T) *WALAtFork {
	t.Helper()
	w := &WALAtFork{ForkLSN: mustLSN("0/2000100"), Reason: "reached consistency", ReplicaLSN: mustLSN("0/4000000")}
	w.Timeline = 1
	recs := ParseWALDump(readWALDumpFixture(t, "pg15_data_past_fork.txt")).Records
	names := func(context.Context, []RelFile) (map[RelFile]string, error) {
		return map[RelFile]string{{1663, 5, 16384}: "test", {1663, 5, 16389}: "test_pkey (index)"}, nil
	}
	nameRecords(context.Background(), names, recs)
	w.setRecords(recs)
	return w
}

// marker is a proof input: the marker written on the primary and its
// fate on the replica.
func marker(fate MarkerFate) ProofInput {
	w := &MarkerWrite{ID: "walstep-1", Node: "primary", LSN: mustLSN("0/2000260"), Step: "P"}
	c := MarkerCheck{ID: "walstep-1", Node: "replica", Fate: fate, Deadline: "5s", Step: "P"}
	if fate == MarkerFound {
		c.After = "120ms"
	}
	return ProofInput{Write: w, Checks: []MarkerCheck{c}}
}

// The data and the positions agree: diverged with the marker absent,
// healthy with it found. The verdict stays, and the proof says so with
// the records past the fork and each node's fate.
func TestProofAgrees(t *testing.T) {
	d := Diagnose(DiagnoseInput{Snapshot: loadSnap(t, "default_end.json")})
	ApplyProof(&d, proofFixture(t), marker(MarkerAbsent))
	if d.Verdict != VerdictDiverged || d.Proof == nil || d.Proof.Status != ProofAgrees || d.Proof.PositionVerdict != "" {
		t.Fatalf("diverged, marker absent: verdict %s, proof %+v", d.Verdict, d.Proof)
	}
	for _, want := range []string{"11 records of timeline 1 past the fork at 0/2000100, up to 0/4000000", "3 transactions wrote in them (3 committed)", "xid ", "(committed) writing to test, test_pkey (index)"} {
		if !strings.Contains(d.Proof.PastFork, want) {
			t.Errorf("past the fork lacks %q: %s", want, d.Proof.PastFork)
		}
	}
	if len(d.Proof.Transactions) != 3 || !d.Proof.Transactions[0].Committed {
		t.Errorf("transactions %+v", d.Proof.Transactions)
	}
	if len(d.Proof.Nodes) != 2 || d.Proof.Nodes[0].Fate != "written" || !strings.Contains(d.Proof.Nodes[0].Text, "0/2000260") || d.Proof.Nodes[1].Fate != string(MarkerAbsent) {
		t.Errorf("nodes %+v", d.Proof.Nodes)
	}
	if !strings.Contains(d.Proof.Conclusion, "did not reach the replica within 5s") {
		t.Errorf("conclusion %q", d.Proof.Conclusion)
	}

	h := Diagnose(DiagnoseInput{Snapshot: loadSnap(t, "healthy_end.json")})
	ApplyProof(&h, nil, marker(MarkerFound))
	if h.Verdict != VerdictHealthy || h.Proof.Status != ProofAgrees || !strings.Contains(h.Proof.Conclusion, "reached the replica after 120ms") {
		t.Errorf("healthy, marker found: verdict %s, proof %+v", h.Verdict, h.Proof)
	}
}

// Where the data contradicts the positions and logs, in either
// direction, the verdict is unknown and says both, not one of them.
func TestProofDisagreementMakesTheVerdictSayIt(t *testing.T) {
	for _, c := range []struct {
		snap string
		fate MarkerFate
		was  Verdict
		says string
	}{
		{"default_end.json", MarkerFound, VerdictDiverged, "positions and logs say diverged, yet the marker row committed and flushed on the primary at 0/2000260 reached the replica after 120ms"},
		{"healthy_end.json", MarkerAbsent, VerdictHealthy, "positions and logs say healthy, yet the marker row committed and flushed on the primary at 0/2000260 did not reach the replica within 5s"},
	} {
		d := Diagnose(DiagnoseInput{Snapshot: loadSnap(t, c.snap)})
		if d.Verdict != c.was {
			t.Fatalf("%s: positions say %s, want %s", c.snap, d.Verdict, c.was)
		}
		before := d.Explanation
		ApplyProof(&d, nil, marker(c.fate))
		if d.Verdict != VerdictUnknown || d.Proof.Status != ProofDisagrees || d.Proof.PositionVerdict != c.was {
			t.Errorf("%s, marker %s: verdict %s, proof %+v", c.snap, c.fate, d.Verdict, d.Proof)
		}
		if !strings.Contains(d.Explanation, c.says) || !strings.Contains(d.Explanation, "walstep does not pick one") || !strings.Contains(d.Explanation, before) {
			t.Errorf("%s: the explanation does not give both sides:\n%s", c.snap, d.Explanation)
		}
		if last := d.Evidence[len(d.Evidence)-1]; !strings.HasPrefix(last, "positions and logs alone: "+string(c.was)) {
			t.Errorf("%s: evidence %q", c.snap, d.Evidence)
		}
	}
}

// Without a marker to judge by the proof is unknown and says why; a
// standby that never answered is no proof either way. The verdict stays.
func TestProofUnknown(t *testing.T) {
	d := Diagnose(DiagnoseInput{Snapshot: loadSnap(t, "default_end.json")})
	ApplyProof(&d, nil, ProofInput{Missing: "step P, the proof step, was skipped, so walstep wrote no marker row"})
	if d.Verdict != VerdictDiverged || d.Proof.Status != ProofUnknown || d.Proof.Conclusion != "The proof from the data is unknown: step P, the proof step, was skipped, so walstep wrote no marker row." {
		t.Errorf("skipped: verdict %s, proof %+v", d.Verdict, d.Proof)
	}
	d = Diagnose(DiagnoseInput{Snapshot: loadSnap(t, "healthy_end.json")})
	in := marker(MarkerNoAnswer)
	in.Checks[0].Err = "connection refused"
	ApplyProof(&d, nil, in)
	if d.Verdict != VerdictHealthy || d.Proof.Status != ProofUnknown || !strings.Contains(d.Proof.Conclusion, "did not answer within 5s") || !strings.Contains(d.Proof.Nodes[1].Text, "connection refused") {
		t.Errorf("no answer: verdict %s, proof %+v", d.Verdict, d.Proof)
	}
	// The report's JSON carries it as diagnosis.proof.
	b, _ := json.Marshal(d)
	var m map[string]map[string]any
	_ = json.Unmarshal([]byte(`{"d":`+string(b)+`}`), &m)
	if p, ok := m["d"]["proof"].(map[string]any); !ok || p["status"] != "unknown" {
		t.Errorf("json: %s", b)
	}
}
