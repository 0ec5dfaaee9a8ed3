package present

import (
	"strings"
	"testing"

	"walstep/pg"
)

// A long range shows its ends around a count and a summary per kind.
func TestRenderWALLongRange(t *testing.T) {
	w := &pg.WALAtFork{ForkLSN: 0x2000100, ReplicaLSN: 0x9000000}
	w.Timeline, w.From, w.To = 1, 0x2000100, 0x9000000
	w.NewTimeline.Timeline = 2
	var recs []pg.WALRecord
	for i := 0; i < 2*pg.ShowEnds; i++ {
		recs = append(recs, pg.WALRecord{LSN: pg.LSN(0x3000028 + i*0x40), Rmgr: "Heap", Type: "INSERT", XID: uint32(800 + i), Relations: []string{"big"}})
	}
	w.Records, w.Total, w.Omitted = recs, 5000, 5000-len(recs)
	w.Summary = []pg.WALGroup{{Kind: "Heap INSERT", Count: 4000, First: recs[0].LSN, Last: recs[len(recs)-1].LSN}, {Kind: "Transaction COMMIT", Count: 1000, First: recs[0].LSN, Last: recs[len(recs)-1].LSN}}
	w.Capped = "range too large: read the first 5000 records, up to 0/3FFF000; the rest up to 0/9000000 is not shown"
	out := RenderWAL(w, 80, PlainDiagStyles())
	for _, want := range []string{"4984 records not shown", "Heap INSERT", "4000", "Transaction COMMIT", "range too large"} {
		if !strings.Contains(out, want) {
			t.Errorf("long range lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if len([]rune(l)) > 80 {
			t.Errorf("line wider than 80: %q", l)
		}
	}
}

// Bad input is one clear line per range, within the width; a note stands
// in for a range that is not there.
func TestRenderWALErrors(t *testing.T) {
	w := &pg.WALAtFork{ForkLSN: 0x2000100, ReplicaLSN: 0x3000000}
	w.Timeline, w.From, w.To = 1, 0x2000100, 0x3000000
	w.Err = "segment 000000010000000000000002 is neither in the archive nor in pg_wal"
	w.NewTimeline.Timeline = 2
	w.NewTimeline.Err = "no pg_waldump in the server's environment (locally: --pg-bin; on Docker: the image)"
	out := RenderWAL(w, 120, PlainDiagStyles())
	for _, want := range []string{"  cannot read: segment 000000010000000000000002 is neither in the archive nor in pg_wal\n", "  cannot read: no pg_waldump in the server's environment"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "no records") {
		t.Errorf("an error is not 'no records':\n%s", out)
	}
	w = &pg.WALAtFork{Note: "no fork yet: no history file shows a timeline forking off another"}
	if out := RenderWAL(w, 80, PlainDiagStyles()); out != "No fork yet: no history file shows a timeline forking off another." {
		t.Errorf("note: %q", out)
	}
}

// A diverged standby of three nodes is named in the WAL view's titles,
// with the node it follows, not as the seed's replica and primary.
func TestRenderWALNamesThePair(t *testing.T) {
	w := &pg.WALAtFork{ForkLSN: 0x30000A0, ReplicaLSN: 0x5000000, Standby: "c", Upstream: "b"}
	w.Timeline, w.From, w.To = 1, 0x30000A0, 0x5000000
	w.NewTimeline.Timeline = 2
	out := RenderWAL(w, 120, PlainDiagStyles())
	for _, want := range []string{"0/5000000: standby c has it, timeline 2 does not", "Timeline 2 from the fork: what b has instead"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "replica") || strings.Contains(out, "primary") {
		t.Errorf("names the seed's nodes:\n%s", out)
	}
}
