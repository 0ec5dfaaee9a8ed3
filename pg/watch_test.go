package pg

import (
	"fmt"
	"testing"
	"time"
)

func TestWatchThinsEarlierPolls(t *testing.T) {
	w := NewWatch(0)
	base := loadSnap(t, "default_end.json")
	at := base.At
	archive := Archive{}
	for i := range 1000 {
		at = at.Add(500 * time.Millisecond)
		if i%100 == 0 { // the archive changes now and then
			archive.WAL = append(archive.WAL, ArchiveFile{Name: fmt.Sprintf("%024X", i)})
		}
		s := base
		s.At = at
		s.Archive = Archive{WAL: append([]ArchiveFile(nil), archive.WAL...)}
		w = w.remember(s)
	}
	if w.Len() > KeepPolls {
		t.Errorf("kept %d polls, more than %d", w.Len(), KeepPolls)
	}
	recentWindow := 2 * DefaultStallAfter
	recent := 0
	changes := map[int]bool{}
	for _, e := range w.earlier {
		if e.Nodes[0].LogTail != nil || e.Nodes[1].LogTail != nil {
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

// A series folded poll by poll reaches the verdict Diagnose gives with the
// whole series as history: stalled needs the earlier polls.
func TestWatchFoldsASeries(t *testing.T) {
	ser := loadSeries(t, "stall_series.jsonl")
	w := NewWatch(30 * time.Second)
	var d Diagnosis
	for _, s := range ser {
		w, d = w.Observe(s)
	}
	if d.Verdict != VerdictStalled {
		t.Fatalf("verdict %s: %s", d.Verdict, d.Explanation)
	}
	if one := Diagnose(DiagnoseInput{Snapshot: ser[len(ser)-1]}); one.Verdict == VerdictStalled {
		t.Fatalf("one poll alone is stalled too; the series proves nothing")
	}
}

// Observe leaves its receiver as it was, so a Watch can be copied freely.
func TestWatchIsAValue(t *testing.T) {
	a, b := loadSnap(t, "default_end.json"), loadSnap(t, "healthy_end.json")
	b.At = a.At.Add(time.Second)
	w0, _ := NewWatch(0).Observe(a)
	w1, _ := w0.Observe(b)
	w2, _ := w0.Observe(a)
	if w0.Len() != 1 || w1.Len() != 2 || w2.Len() != 2 {
		t.Fatalf("lengths %d %d %d", w0.Len(), w1.Len(), w2.Len())
	}
	if got := w1.Earlier()[1].Nodes[0].Timeline; got != b.Nodes[0].Timeline {
		t.Errorf("w1 lost its own poll: timeline %d", got)
	}
}
