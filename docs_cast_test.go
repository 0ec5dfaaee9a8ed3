package main

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"walstep/cast/casttest"
)

// docs/walstep.cast, the README's recording (scripts/cast.sh), is a valid
// asciicast of the whole playbook that ends on the verdict, with a marker
// at each step and at the verdict.
func TestDocsCastIsAWholePlaybook(t *testing.T) {
	h, ev := readCast(t, "docs/walstep.cast")
	if h.Version != 2 || h.Width != 100 || h.Height != 30 {
		t.Errorf("header %+v", h)
	}
	var out strings.Builder
	var marks []string
	for i, e := range ev {
		if i > 0 && e.Time < ev[i-1].Time {
			t.Fatalf("event %d goes back in time", i)
		}
		if e.Kind == "m" {
			marks = append(marks, e.Data)
			continue
		}
		out.WriteString(e.Data)
	}
	checkStepMarkers(t, marks)
	text := ansi.Strip(out.String())
	for _, want := range []string{"STEP 12", "STEP F6", "DIVERGED:", "finished · 28/28"} {
		if !strings.Contains(text, want) {
			t.Errorf("the recording never shows %q", want)
		}
	}
	last, err := casttest.LastFrame(h, ev)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(last, "DIVERGED: the replica replayed timeline 1") || !strings.Contains(last, "finished · 28/28") {
		t.Errorf("the recording does not end on the verdict:\n%s", last)
	}
	if d := ev[len(ev)-1].Time; d > 60 {
		t.Errorf("the recording plays %.0fs: too long for the README", d)
	}
}
