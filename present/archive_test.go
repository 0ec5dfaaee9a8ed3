package present

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"walstep/pg"
)

func TestArchiveViewDefaultLab40(t *testing.T) {
	got := RenderArchive(diagSnap(t, "default_end.json"), 40, PlainDiagStyles())
	want := strings.Join([]string{
		"Backups",
		"  base_000000010000000000000002",
		"Timeline 1",
		"  000000010000000000000001",
		"  000000010000000000000002 ◂ fork",
		"  000000010000000000000002.00000028.bac…",
		"Timeline 2",
		"  00000002.history from TL1 at 0/2000100",
		"  no segments yet",
		"Next wanted",
		"  primary TL2 writes",
		"    000000020000000000000002 ✗ not yet",
		"    writes 000000020000000000000002; it",
		"    reaches the archive once full or",
		"    switched",
		"  replica TL1→TL2 asks for",
		"    000000020000000000000003 ✗ missing",
		"    000000010000000000000003 ✗ missing",
		"    00000003.history ✗ missing",
		"    asks for 000000020000000000000003,",
		"    then 000000010000000000000003: none",
		"    is in the archive, so it waits (or",
		"    streams)",
	}, "\n")
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestArchiveViewShowsTheFallback(t *testing.T) {
	// The replica stopped at its target (F2): on its next start it asks for
	// timeline 2's segment 2, finds none, and takes timeline 1's.
	got := RenderArchive(diagSnap(t, "default_after_f2.json"), 72, PlainDiagStyles())
	for _, want := range []string{
		"  000000010000000000000002 ◂ TL2 forks at 0/2000100",
		"  replica TL1→TL2 asks for\n    000000020000000000000002 ✗ missing\n    000000010000000000000002 ✓ used\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
}

func TestArchiveViewWalgPartialAndRuns(t *testing.T) {
	a := pg.Archive{Backups: []string{"base_000000010000000000000002"}}
	for i := 1; i <= 9; i++ {
		name := pg.WALFileName(1, pg.LSN(i)*pg.WALSegSize)
		a.WAL = append(a.WAL, pg.ArchiveFile{Name: name, TLI: 1, Start: pg.LSN(i) * pg.WALSegSize})
	}
	a.WAL = append(a.WAL,
		pg.ArchiveFile{Name: "00000002.history", TLI: 2, History: true},
		pg.ArchiveFile{Name: "00000002000000000000000A.partial", TLI: 2, Start: 10 * pg.WALSegSize, Partial: true})
	got := RenderArchive(pg.Snapshot{Archive: a}, 60, PlainDiagStyles())
	for _, want := range []string{
		"  000000010000000000000001\n  000000010000000000000002\n  … 5 more …\n  000000010000000000000008\n  000000010000000000000009\n",
		"Timeline 2\n  00000002.history\n  no segments yet\n  00000002000000000000000A.partial\n",
		"Next wanted\n  no server has a position yet",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
	// A timeline with segments but without its history file says so.
	a.WAL = append(a.WAL[:9], pg.ArchiveFile{Name: "000000030000000000000009", TLI: 3, Start: 9 * pg.WALSegSize})
	if got := RenderArchive(pg.Snapshot{Archive: a}, 60, PlainDiagStyles()); !strings.Contains(got, "00000003.history not archived") {
		t.Errorf("missing history not shown:\n%s", got)
	}
}

func TestArchiveViewFitsWidths(t *testing.T) {
	for _, name := range diagFixtures {
		s := diagSnap(t, name)
		for w := 30; w <= 140; w += 5 {
			checkWidth(t, name, RenderArchive(s, w, PlainDiagStyles()), w)
			checkWidth(t, name, RenderArchive(s, w, colourStyles()), w)
		}
	}
}

func TestArchiveViewGoldenColour(t *testing.T) {
	s := diagSnap(t, "default_after_f2.json")
	coloured := RenderArchive(s, 72, colourStyles())
	plain := RenderArchive(s, 72, PlainDiagStyles())
	if coloured == plain {
		t.Fatal("the pinned profile drew no colour")
	}
	if ansi.Strip(coloured) != plain {
		t.Errorf("colour changed the text:\n%s\n--- plain:\n%s", ansi.Strip(coloured), plain)
	}
	diagGolden(t, "archive_after_f2_72", coloured)
}
