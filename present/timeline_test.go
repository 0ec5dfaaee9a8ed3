package present

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"walstep/pg"
)

// The snapshots are pg's recordings of real runs (see pg/testdata/README.md).
func diagSnap(t *testing.T, name string) pg.Snapshot {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "pg", "testdata", "snapshots", name))
	if err != nil {
		t.Fatal(err)
	}
	var s pg.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// colourStyles pins a colour profile and background, so goldens do not
// depend on the terminal running the tests.
func colourStyles() DiagStyles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	r.SetHasDarkBackground(true)
	return NewDiagStyles(r)
}

// diagGolden compares got with testdata/diag/name.golden; set
// WALSTEP_UPDATE_DIAG=1 to rewrite it after an intended change.
func diagGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "diag", name+".golden")
	if os.Getenv("WALSTEP_UPDATE_DIAG") == "1" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (WALSTEP_UPDATE_DIAG=1 go test ./present -run Golden creates it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

func checkWidth(t *testing.T, what string, out string, width int) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if w := ansi.StringWidth(l); w > width {
			t.Errorf("%s at width %d: line of %d cells: %q", what, width, w, l)
		}
	}
}

var diagFixtures = []string{"default_end.json", "default_after_f2.json", "healthy_end.json"}

func TestTimelineDefaultLab40(t *testing.T) {
	got := RenderTimeline(diagSnap(t, "default_end.json"), 40, PlainDiagStyles())
	want := strings.Join([]string{
		"TL1 ━━━━━━━━━━━┯┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄R",
		"TL2            ╰━━━━━━━━━━P",
		"               fork 0/2000100",
		"P primary 0/2000178 TL2",
		"R replica 0/3000000 TL1 past fork!",
	}, "\n")
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestTimelineHealthy72(t *testing.T) {
	got := RenderTimeline(diagSnap(t, "healthy_end.json"), 72, PlainDiagStyles())
	want := strings.Join([]string{
		"TL1 ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┯",
		"TL2                                  ╰━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━PR",
		"                                     fork 0/3000000",
		"P primary 0/30000A0 TL2",
		"R replica 0/30000A0 TL2",
	}, "\n")
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestTimelineStoppedReplicaAndWideNote(t *testing.T) {
	got := RenderTimeline(diagSnap(t, "default_after_f2.json"), 40, PlainDiagStyles())
	if !strings.Contains(got, "R replica 0/2000100 TL1 (stopped)") || strings.Contains(got, "past fork") {
		t.Errorf("got:\n%s", got)
	}
	got = RenderTimeline(diagSnap(t, "default_end.json"), 80, PlainDiagStyles())
	if !strings.Contains(got, "R replica 0/3000000 TL1 past fork 0/2000100") {
		t.Errorf("got:\n%s", got)
	}
}

func TestTimelineSplitAndUnknowns(t *testing.T) {
	h2, _ := pg.ParseHistory(2, "1\t0/2000100\treached consistency\n")
	s := pg.Snapshot{
		Nodes:     pg.SeedNodes(pg.Reading{Node: "primary", Up: true, FlushLSN: 0x2000178, Timeline: 2}, pg.Reading{Node: "replica", Up: true, FlushLSN: 0x3000100, Timeline: 3}),
		Histories: []pg.History{h2},
	}
	got := RenderTimeline(s, 40, PlainDiagStyles())
	if !strings.Contains(got, "TL3 ?") || !strings.Contains(got, "off history!") {
		t.Errorf("split:\n%s", got)
	}
	got = RenderTimeline(pg.Snapshot{}, 40, PlainDiagStyles())
	if got != "TL1 ━\nP primary: no position yet\nR replica: no position yet" {
		t.Errorf("empty:\n%s", got)
	}
}

func TestTimelineFitsWidths(t *testing.T) {
	for _, name := range diagFixtures {
		s := diagSnap(t, name)
		for w := 24; w <= 140; w += 4 {
			checkWidth(t, name, RenderTimeline(s, w, PlainDiagStyles()), w)
			checkWidth(t, name, RenderTimeline(s, w, colourStyles()), w)
		}
	}
}

func TestTimelineGoldenColour(t *testing.T) {
	s := diagSnap(t, "default_end.json")
	coloured := RenderTimeline(s, 72, colourStyles())
	plain := RenderTimeline(s, 72, PlainDiagStyles())
	if coloured == plain {
		t.Fatal("the pinned profile drew no colour")
	}
	if ansi.Strip(coloured) != plain {
		t.Errorf("colour changed the text:\n%s\n--- plain:\n%s", ansi.Strip(coloured), plain)
	}
	diagGolden(t, "timeline_default_72", coloured)
}
