package pg

import (
	"strings"
	"testing"
)

func TestWantedByDefaultLab(t *testing.T) {
	s := loadSnap(t, "default_end.json")
	nf, ok := WantedBy(s.Nodes[1], s.Histories, s.Archive)
	if !ok || !nf.Asks || nf.Target != 2 || nf.Timeline != 1 {
		t.Fatalf("got %+v", nf)
	}
	if len(nf.Segments) != 2 || nf.Segments[0].Name != "000000020000000000000003" || nf.Segments[1].Name != "000000010000000000000003" ||
		nf.Segments[0].InArchive || nf.Segments[1].InArchive || nf.Uses != "" {
		t.Errorf("segments %+v uses %q", nf.Segments, nf.Uses)
	}
	if nf.History.Name != "00000003.history" || nf.History.InArchive {
		t.Errorf("history %+v", nf.History)
	}

	p, ok := WantedBy(s.Nodes[0], s.Histories, s.Archive)
	if !ok || p.Asks || len(p.Segments) != 1 || p.Segments[0].Name != "000000020000000000000002" || p.Segments[0].InArchive {
		t.Errorf("primary %+v", p)
	}

	// Stopped at its target (F2): on its next start it asks for timeline
	// 2's segment 2, does not find it, and takes timeline 1's instead.
	f2 := loadSnap(t, "default_after_f2.json")
	nf, ok = WantedBy(f2.Nodes[1], f2.Histories, f2.Archive)
	if !ok || nf.Position != 0x2000028 || len(nf.Segments) != 2 || nf.Uses != "000000010000000000000002" {
		t.Fatalf("after F2: %+v", nf)
	}
	if !strings.Contains(nf.Note, "gets 000000010000000000000002 from timeline 1 instead") {
		t.Errorf("note %q", nf.Note)
	}
	if got := NextWanted(f2); len(got) != 2 || got[0].Node != "primary" {
		t.Errorf("NextWanted: %+v", got)
	}
}

func TestWantedByWalgNamesAndPartial(t *testing.T) {
	a := Archive{WAL: []ArchiveFile{
		{Name: "000000010000000000000002.lz4", TLI: 1, Start: 0x2000000},
		{Name: "00000002.history.lz4", TLI: 2, History: true},
		{Name: "000000020000000000000002.partial", TLI: 2, Start: 0x2000000, Partial: true},
	}}
	h, _ := ParseHistory(2, "1\t0/2000100\treached consistency\n")
	r := Reading{Node: "replica", Control: &ControlData{RedoLSN: 0x2000028, CheckpointTLI: 1, MinRecoveryPoint: 0x2000100, MinRecoveryTLI: 1}, Timeline: 1}
	nf, ok := WantedBy(r, []History{h}, a)
	if !ok || len(nf.Segments) != 2 {
		t.Fatalf("got %+v", nf)
	}
	if s := nf.Segments[0]; s.InArchive || !s.Partial || s.StoredAs != "000000020000000000000002.partial" {
		t.Errorf("partial: %+v", s)
	}
	if s := nf.Segments[1]; !s.InArchive || s.StoredAs != "000000010000000000000002.lz4" {
		t.Errorf("lz4: %+v", s)
	}
	if nf.Target != 2 {
		t.Errorf("target %d", nf.Target)
	}
}

func TestPositionOf(t *testing.T) {
	cases := []struct {
		r   Reading
		pos LSN
		tli uint32
	}{
		{Reading{Up: true, FlushLSN: 5, Timeline: 2}, 5, 2},
		{Reading{Up: true, InRecovery: true, ReplayLSN: 7, Timeline: 1}, 7, 1},
		{Reading{Up: true, InRecovery: true, ReceiveLSN: 9, Timeline: 1}, 9, 1},
		{Reading{Timeline: 1, Control: &ControlData{MinRecoveryPoint: 11, MinRecoveryTLI: 3, CheckpointTLI: 1}}, 11, 3},
		{Reading{Control: &ControlData{CheckpointLSN: 13, CheckpointTLI: 2}}, 13, 2},
		{Reading{}, 0, 0},
	}
	for i, c := range cases {
		if pos, tli := PositionOf(c.r); pos != c.pos || tli != c.tli {
			t.Errorf("%d: got %s %d, want %s %d", i, pos, tli, c.pos, c.tli)
		}
	}
}
