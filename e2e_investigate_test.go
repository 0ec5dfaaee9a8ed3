package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"walstep/headless"
)

func TestRepeatWithExpect(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	code, stdout, stderr := runMain("run", "--lab", lab, "--backend", "local", "--archiver", "cp", "--repeat", "2", "--expect", "diverged", "--json")
	if code != 0 {
		t.Fatalf("repeat with the right expectation: exit %d\n%s", code, stderr)
	}
	var rr headless.RepeatReport
	if err := json.Unmarshal([]byte(stdout), &rr); err != nil {
		t.Fatalf("decode: %v\n%s", err, stdout)
	}
	if len(rr.Runs) != 2 || rr.Verdicts["diverged"] != 2 || rr.Matched != 2 {
		t.Errorf("runs %d verdicts %v matched %d, want 2 diverged runs", len(rr.Runs), rr.Verdicts, rr.Matched)
	}
	var backup *headless.StepStats
	for i := range rr.Steps {
		if rr.Steps[i].ID == "4d" {
			backup = &rr.Steps[i]
		}
	}
	if backup == nil || backup.Median <= 0 || backup.Min > backup.Median || backup.Median > backup.Max {
		t.Errorf("step 4d stats %+v: want median within min..max and > 0", backup)
	}

	code, stdout, stderr = runMain("run", "--lab", lab, "--backend", "local", "--archiver", "cp", "--expect", "healthy")
	if code != exitExpect {
		t.Fatalf("--expect healthy on the default lab: exit %d, want %d\n%s", code, exitExpect, stderr)
	}
	if !strings.Contains(stderr, "expected verdict healthy, got diverged") {
		t.Errorf("stderr should say what was expected and got: %q", stderr)
	}
	if !strings.Contains(stdout, "== Diagnosis: DIVERGED") {
		t.Errorf("text report lacks the diagnosis")
	}
}

func TestTranscriptAfterRealRun(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	dir := reachableTempDir(t)
	lab := filepath.Join(dir, "lab")
	tr := filepath.Join(dir, "session.md")
	code, _, stderr := runMain("run", "--lab", lab, "--backend", "local", "--archiver", "cp", "--transcript", tr)
	if code != 0 {
		t.Fatalf("run: %d %s", code, stderr)
	}
	b, err := os.ReadFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, want := range []string{
		"# walstep transcript",
		"## 12. Start both servers at once",
		"docker compose up -d",                                        // the seed's command text
		"restored base_000000010000000000000002",                      // real output of step 6b
		"Readings when this step ended, before the next one started:", // the panel's readings
		"- primary: up · primary, timeline 2",                         // after a step late in the run
		"**Verdict: diverged.**",                                      // the final verdict
		"Proof from the data (agrees with the positions and logs):",   // the proof from the data
		"did not reach the replica within 5s, so the replica does not follow the primary",
		"timeline 1 ended at 0/2000100 (reached consistency)",
		"fork 0/2000100", // the timeline picture
		"requested starting point 0/3000000 is ahead of the WAL flush position",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
	// Readings belong to the step they follow: after step 2 (a conf
	// edit) nothing has started the primary yet.
	if _, sec, ok := strings.Cut(md, "## 2. "); ok {
		sec, _, _ = strings.Cut(sec, "\n## ")
		if strings.Contains(sec, "- primary: starting") || strings.Contains(sec, "- primary: up") {
			t.Errorf("step 2's readings were taken after a later step started the primary:\n%s", sec)
		}
	}
	if strings.Contains(md, "press ") {
		t.Errorf("the transcript carries debugger key hints")
	}
	if n := strings.Count(md, "\n## "); n < 29 {
		t.Errorf("transcript has %d sections, want one per step (28) plus the outcome", n)
	}
}
