package present

import (
	"strings"
	"testing"

	"walstep/pg"
)

// With more than one standby, the block says each one's verdict against
// the node it follows; with one (the seed's), it adds nothing.
func TestDiagnosisEachStandby(t *testing.T) {
	d := pg.Diagnosis{Verdict: pg.VerdictDiverged, Explanation: "c is diverged (of 2 standbys, judged against b).",
		Standbys: []pg.StandbyVerdict{
			{Pair: pg.Pair{Upstream: "a", Standby: "b", From: pg.FromReceiver}, Verdict: pg.VerdictHealthy,
				Explanation: "Standby b streams from primary a on timeline 1. It has not passed any fork point."},
			{Pair: pg.Pair{Upstream: "b", Standby: "c", From: pg.FromConninfo}, Verdict: pg.VerdictDiverged,
				Explanation: "Upstream b forked timeline 2 off timeline 1 at 0/40000A0, and standby c has replayed timeline 1 up to 0/5000000, past that point. More."},
		}}
	d.Evidence = []string{"c log: FATAL:  could not start WAL streaming"}
	got := Diagnosis(d, DiagnosisForm{Heading: "== Diagnosis: DIVERGED", Sep: "\n", End: "\n", Bullet: "  - "})
	want := "== Diagnosis: DIVERGED\nc is diverged (of 2 standbys, judged against b).\nEach standby against the node it follows:\n" +
		"  - b following a (wal receiver): HEALTHY. Standby b streams from primary a on timeline 1.\n" +
		"  - c following b (primary_conninfo): DIVERGED. Upstream b forked timeline 2 off timeline 1 at 0/40000A0, and standby c has replayed timeline 1 up to 0/5000000, past that point.\n" +
		"Evidence:\n  - c log: FATAL:  could not start WAL streaming\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	d.Standbys = d.Standbys[1:]
	if got := Diagnosis(d, DiagnosisForm{Sep: "\n"}); strings.Contains(got, "Each standby") {
		t.Errorf("one standby drew the part:\n%s", got)
	}
}

// A report of a playbook other than the seed's names it and its servers
// rather than the seed's story.
func TestWriteMarkdownOtherPlaybook(t *testing.T) {
	s := pg.Snapshot{Nodes: []pg.Reading{
		{Node: "a", Up: true, Process: pg.ProcUp},
		{Node: "b", Upstream: "a", Up: true, InRecovery: true, Process: pg.ProcUp},
		{Node: "c", Upstream: "b", Follows: "b", Up: true, InRecovery: true, Process: pg.ProcUp},
	}}
	var b strings.Builder
	if err := WriteMarkdown(&b, Report{Playbook: "three-nodes", PlaybookTitle: "Three servers, a cascade", Backend: "local", Archiver: "cp", Snapshot: s,
		Diagnosis: &pg.Diagnosis{Verdict: pg.VerdictHealthy}}); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{"# Three servers, a cascade: verdict HEALTHY\n", "The playbook `three-nodes`, its servers a (primary), b (standby of a) and c (standby of b), run step by step",
		"- a: up", "- b: up", "- c: up"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "concurrent") {
		t.Errorf("the seed's story in another playbook's report:\n%s", got)
	}
}
