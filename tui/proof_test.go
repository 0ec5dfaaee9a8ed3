package tui

import (
	"strings"
	"testing"

	"walstep/pg"
	"walstep/steps"
)

// The d view shows the proof from the data: unknown, and why, from the
// steps' states when no marker was written (here step P was skipped);
// and when the marker's fate contradicts the positions, the verdict in
// the panel is unknown and the d view says both sides.
func TestDiagnosisViewShowsTheProof(t *testing.T) {
	m, _, c := testModelClock(freshSnap())
	m.cfg.Proof = (&steps.Env{}).ProofInput
	f6, p := idx(t, m, "F6"), idx(t, m, "P")
	m = runThrough(m, c, f6+1)
	m = send(m, eventMsg{ev: steps.Event{Kind: steps.StepFinished, Index: p, Status: steps.Skipped}})
	m = polled(m, divergedSnap(c.Now()))
	d := m.diagnosisText(100)
	for _, want := range []string{"Verdict: DIVERGED", "Proof from the data (unknown):", "The proof from the data is unknown: step P, the proof step, was skipped, so walstep wrote no marker row."} {
		if !strings.Contains(d, want) {
			t.Errorf("the d view lacks %q:\n%s", want, d)
		}
	}

	lsn, _ := pg.ParseLSN("0/2000260")
	m.cfg.Proof = func([]steps.Step, []steps.StepState) pg.ProofInput {
		return pg.ProofInput{Write: &pg.MarkerWrite{ID: "walstep-1", Node: "primary", LSN: lsn, Step: "P"},
			Checks: []pg.MarkerCheck{{ID: "walstep-1", Node: "replica", Fate: pg.MarkerFound, Deadline: "5s", After: "80ms", Step: "P"}}}
	}
	m = polled(m, divergedSnap(c.Now()))
	if m.diag.Verdict != pg.VerdictUnknown || !strings.Contains(m.View(), "verdict: UNKNOWN") {
		t.Errorf("positions diverged, marker found: verdict %s\n%s", m.diag.Verdict, m.View())
	}
	d = m.diagnosisText(100)
	for _, want := range []string{"Verdict: UNKNOWN", "DISAGREES with the positions and logs", "positions and logs say diverged, yet the marker row", "replica: found after 80ms (step P)"} {
		if !strings.Contains(d, want) {
			t.Errorf("the d view lacks %q:\n%s", want, d)
		}
	}
}
