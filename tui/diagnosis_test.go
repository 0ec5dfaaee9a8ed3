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
