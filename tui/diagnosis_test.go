package tui

import (
	"strings"
	"testing"
	"time"

	"walstep/pg"
)

func TestVerdictInThePanel(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = polled(m, freshSnap())
	if v := m.View(); !strings.Contains(v, "verdict: UNKNOWN") {
		t.Errorf("fresh lab:\n%s", v)
	}
	m = polled(m, divergedSnap(clock))
	if v := m.View(); !strings.Contains(v, "verdict: DIVERGED") {
		t.Errorf("divergence:\n%s", v)
	}
}

// BenchmarkPollResult is a poll arriving with a full history of earlier
// polls: the diagnosis runs in Update, so it must stay cheap.
func BenchmarkPollResult(b *testing.B) {
	m, _ := testModel(freshSnap())
	at := clock
	for range pg.KeepPolls {
		at = at.Add(500 * time.Millisecond)
		m = polled(m, divergedSnap(at))
	}
	b.ResetTimer()
	for range b.N {
		at = at.Add(500 * time.Millisecond)
		m = polled(m, divergedSnap(at))
	}
}

// A standby that ran as a primary past the fork wrote that WAL: the
// panel's words say so, not that it replayed it.
func TestVerdictWordsOfAStandbyThatWrote(t *testing.T) {
	d := pg.Diagnosis{Verdict: pg.VerdictDiverged, Standby: "a", Upstream: "b", ForkLSN: mustLSN("0/3000000"), ForkParent: 1, ForkTimeline: 2,
		ReplicaLSN: mustLSN("0/4000060"), ReplicaTimeline: 1, WrotePastFork: true}
	forms := verdictForms(d)
	if forms[0] != "standby a wrote timeline 1 to 0/4000060, past the fork at 0/3000000" || forms[len(forms)-1] != "a wrote TL1 past the fork" {
		t.Errorf("forms %q", forms)
	}
	d.WrotePastFork = false
	if got := verdictSummary(d); got != "standby a replayed timeline 1 to 0/4000060, past the fork at 0/3000000" {
		t.Errorf("a standby that replayed: %q", got)
	}
}
