package pg

import (
	"encoding/json"
	"strings"
	"testing"
)

// threeNodes is a, its standby b streaming healthy, and its standby c
// that replayed timeline 1 past a's fork (see TestDiagnoseEachStandby).
func threeNodes(t *testing.T) Diagnosis {
	t.Helper()
	s := renamed(loadSnap(t, "healthy_end.json"))
	c := s.Nodes[1]
	c.Node, c.Receiver, c.Role, c.Timeline, c.TLISource = "c", nil, RoleStandbyNoStream, 1, SrcRestored
	c.ReplayLSN, c.ReceiveLSN, c.LogTail = mustLSN("0/3000100"), InvalidLSN, nil
	s.Nodes = append(s.Nodes, c)
	d := Diagnose(DiagnoseInput{Snapshot: s})
	if d.Verdict != VerdictDiverged || d.Standby != "c" || len(d.Standbys) != 2 {
		t.Fatalf("positions: %s on %q, standbys %+v", d.Verdict, d.Standby, d.Standbys)
	}
	return d
}

// markerOn is a marker written on a and looked for on b and c.
func markerOn(b, c MarkerFate) ProofInput {
	in := ProofInput{Write: &MarkerWrite{ID: "walstep-3", Node: "a", LSN: mustLSN("0/3000200"), Step: "7"}}
	for _, x := range []struct {
		node string
		fate MarkerFate
	}{{"b", b}, {"c", c}} {
		mc := MarkerCheck{ID: "walstep-3", Node: x.node, Fate: x.fate, Deadline: "10s", Step: "7"}
		if x.fate == MarkerFound {
			mc.After = "80ms"
		}
		in.Checks = append(in.Checks, mc)
	}
	return in
}

func standbyProof(t *testing.T, p *Proof, name string) StandbyProof {
	t.Helper()
	for _, s := range p.Standbys {
		if s.Standby == name {
			return s
		}
	}
	t.Fatalf("no proof for standby %s: %+v", name, p.Standbys)
	return StandbyProof{}
}

// With three nodes the proof judges each standby against its own
// verdict: the diverged c without the marker, the healthy b with it,
// both agree and the verdict stays c's.
func TestProofEachStandbyAgrees(t *testing.T) {
	d := threeNodes(t)
	ApplyProof(&d, proofFixture(t), markerOn(MarkerFound, MarkerAbsent))
	p := d.Proof
	if d.Verdict != VerdictDiverged || d.Standby != "c" || p.Status != ProofAgrees || p.PositionVerdict != "" {
		t.Fatalf("verdict %s on %s, proof %s: %s", d.Verdict, d.Standby, p.Status, p.Conclusion)
	}
	b, c := standbyProof(t, p, "b"), standbyProof(t, p, "c")
	if b.Status != ProofAgrees || b.Fate != MarkerFound || b.Verdict != VerdictHealthy || b.Upstream != "a" || !strings.Contains(b.Conclusion, "reached standby b after 80ms, so standby b replays primary a's WAL") {
		t.Errorf("b: %+v", b)
	}
	if c.Status != ProofAgrees || c.Fate != MarkerAbsent || c.Verdict != VerdictDiverged || !strings.Contains(c.Conclusion, "did not reach standby c within 10s, so standby c does not follow primary a, and it holds WAL past the fork") {
		t.Errorf("c: %+v", c)
	}
	if !strings.HasPrefix(p.PastFork, "Standby c replayed 11 records of timeline 1") {
		t.Errorf("past the fork: %s", p.PastFork)
	}
	if want := "(b healthy: marker found; c diverged: marker absent)"; !strings.Contains(p.Conclusion, want) {
		t.Errorf("conclusion lacks %q: %s", want, p.Conclusion)
	}
	// --json: diagnosis.proof keeps the seed's fields and adds standbys.
	raw, _ := json.Marshal(d)
	var m struct {
		Proof struct {
			Status   string `json:"status"`
			Nodes    []any  `json:"nodes"`
			Standbys []struct {
				Standby, Fate, Status, Verdict string
			} `json:"standbys"`
		} `json:"proof"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.Proof.Status != "agrees" || len(m.Proof.Nodes) != 3 || len(m.Proof.Standbys) != 2 || m.Proof.Standbys[1].Fate != "absent" {
		t.Errorf("json (%v): %s", err, raw)
	}
}

// The disagreement rule per standby: the healthy b without the marker is
// unknown and says both, while the verdict stays c's, diverged and
// agreed; c holding the marker makes c unknown, and the verdict follows.
func TestProofEachStandbyDisagrees(t *testing.T) {
	d := threeNodes(t)
	ApplyProof(&d, nil, markerOn(MarkerAbsent, MarkerAbsent))
	b := standbyProof(t, d.Proof, "b")
	if d.Verdict != VerdictDiverged || d.Standby != "c" || d.Proof.Status != ProofDisagrees || b.Status != ProofDisagrees || b.Verdict != VerdictUnknown || b.PositionVerdict != VerdictHealthy {
		t.Fatalf("b absent: verdict %s on %s, proof %s, b %+v", d.Verdict, d.Standby, d.Proof.Status, b)
	}
	if d.Standbys[0].Standby != "b" || d.Standbys[0].Verdict != VerdictUnknown || !strings.Contains(d.Standbys[0].Explanation, "walstep does not pick one: standby b's verdict is unknown") {
		t.Errorf("b's verdict %+v", d.Standbys[0])
	}
	if !strings.Contains(d.Explanation, "positions and logs say healthy, yet the marker row committed and flushed on primary a at 0/3000200 did not reach standby b within 10s") || !hasEvidence(d, "b: positions and logs alone: healthy") {
		t.Errorf("explanation %q, evidence %q", d.Explanation, d.Evidence)
	}
	if !strings.Contains(d.Proof.Conclusion, "disagree on standby b (healthy by positions and logs, yet the marker did not reach it)") {
		t.Errorf("conclusion %s", d.Proof.Conclusion)
	}

	d = threeNodes(t)
	ApplyProof(&d, nil, markerOn(MarkerFound, MarkerFound))
	c := standbyProof(t, d.Proof, "c")
	if d.Verdict != VerdictUnknown || d.Standby != "c" || d.Proof.Status != ProofDisagrees || d.Proof.PositionVerdict != VerdictDiverged || c.PositionVerdict != VerdictDiverged {
		t.Errorf("c found: verdict %s on %s, proof %s, c %+v", d.Verdict, d.Standby, d.Proof.Status, c)
	}
	if standbyProof(t, d.Proof, "b").Status != ProofAgrees {
		t.Errorf("b found: %+v", standbyProof(t, d.Proof, "b"))
	}
}

// A cascade: c follows b, which follows a; the marker written on a and
// found on c agrees with both links healthy; b, not looked for, is said.
// A diverged b makes c's absent marker agree too, through b.
func TestProofCascade(t *testing.T) {
	d := Diagnosis{Verdict: VerdictHealthy, Standby: "b", Upstream: "a", Evidence: []string{}, Standbys: []StandbyVerdict{
		{Pair: Pair{Upstream: "a", Standby: "b"}, Verdict: VerdictHealthy},
		{Pair: Pair{Upstream: "b", Standby: "c"}, Verdict: VerdictHealthy}}}
	in := markerOn(MarkerFound, MarkerFound)
	in.Checks = in.Checks[1:]
	ApplyProof(&d, nil, in)
	if d.Verdict != VerdictHealthy || d.Proof.Status != ProofAgrees || !strings.Contains(d.Proof.Conclusion, "Not looked for on b.") || standbyProof(t, d.Proof, "b").Fate != "" {
		t.Errorf("cascade: %s, proof %s: %s", d.Verdict, d.Proof.Status, d.Proof.Conclusion)
	}
	d.Standbys[0].Verdict, d.Verdict, d.Proof = VerdictDiverged, VerdictDiverged, nil
	in = markerOn(MarkerAbsent, MarkerAbsent)
	in.Checks = in.Checks[1:]
	ApplyProof(&d, nil, in)
	if c := standbyProof(t, d.Proof, "c"); c.Status != ProofAgrees || !strings.Contains(c.Conclusion, "(standby b, which it follows, is diverged)") {
		t.Errorf("c through a diverged b: %+v", c)
	}
}

// Every standby healthy by positions, one without the marker: that one
// is unknown, and so the verdict, now about it.
func TestProofHealthyStandbyWithoutMarker(t *testing.T) {
	d := Diagnosis{Verdict: VerdictHealthy, Standby: "b", Upstream: "a", Evidence: []string{}, Explanation: "All 2 standbys follow their upstreams.", Standbys: []StandbyVerdict{
		{Pair: Pair{Upstream: "a", Standby: "b"}, Verdict: VerdictHealthy, Explanation: "Standby b streams."},
		{Pair: Pair{Upstream: "a", Standby: "c"}, Verdict: VerdictHealthy, Explanation: "Standby c streams."}}}
	ApplyProof(&d, nil, markerOn(MarkerFound, MarkerAbsent))
	if d.Verdict != VerdictUnknown || d.Standby != "c" || d.Proof.Status != ProofDisagrees || d.Proof.PositionVerdict != VerdictHealthy {
		t.Fatalf("verdict %s on %s, proof %s", d.Verdict, d.Standby, d.Proof.Status)
	}
	if !strings.HasPrefix(d.Explanation, "c is unknown (judged against a): The data and the positions disagree: positions and logs say healthy") || !strings.Contains(d.Explanation, "Before the proof: All 2 standbys") {
		t.Errorf("explanation: %s", d.Explanation)
	}
}
