package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"walstep/pg"
)

func TestEarlierPollsAreThinned(t *testing.T) {
	m, _ := testModel(freshSnap())
	at := clock
	archive := pg.Archive{}
	for i := range 1000 {
		at = at.Add(500 * time.Millisecond)
		if i%100 == 0 { // the archive changes now and then
			archive.WAL = append(archive.WAL, pg.ArchiveFile{Name: fmt.Sprintf("%024X", i)})
		}
		s := divergedSnap(at)
		s.Archive = pg.Archive{WAL: append([]pg.ArchiveFile(nil), archive.WAL...)}
		m.remember(s)
	}
	if len(m.earlier) > keepPolls {
		t.Errorf("kept %d polls, more than %d", len(m.earlier), keepPolls)
	}
	recentWindow := 2 * pg.DefaultStallAfter
	recent := 0
	changes := map[int]bool{}
	for _, e := range m.earlier {
		if e.Primary.LogTail != nil || e.Replica.LogTail != nil {
			t.Fatal("an earlier poll kept its log tails")
		}
		if e.At.After(at.Add(-recentWindow)) {
			recent++
		}
		changes[len(e.Archive.WAL)] = true
	}
	if want := int(recentWindow / (500 * time.Millisecond)); recent < want-1 {
		t.Errorf("kept %d polls of the last %s, want about %d", recent, recentWindow, want)
	}
	if len(changes) != 10 {
		t.Errorf("kept polls of %d archive states, want all 10", len(changes))
	}
}

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
	for range keepPolls {
		at = at.Add(500 * time.Millisecond)
		m = polled(m, divergedSnap(at))
	}
	b.ResetTimer()
	for range b.N {
		at = at.Add(500 * time.Millisecond)
		m = polled(m, divergedSnap(at))
	}
}
