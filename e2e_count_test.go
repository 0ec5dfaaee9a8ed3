package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// failingHook fails step 8's hook on purpose, the same way every time.
const failingHook = "echo 'deliberate failure for the count' >&2\nexit 3\n"

// A run whose step failed is counted as failed, with the step's error
// shown, by run --repeat as by explore: the same word in both.
func TestE2ERepeatAndExploreCountAFailedStepAlike(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab)
	if err := os.MkdirAll(filepath.Join(lab, "variants", "fails", "hooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lab, "variants", "fails", "hooks", "after-8.primary.sh"), []byte(failingHook), 0o644); err != nil {
		t.Fatal(err)
	}
	m, code, stderr := exploreJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp", "--variants", "fails", "--jobs", "1")
	if code != 0 {
		t.Fatalf("explore: exit %d\n%s", code, stderr)
	}
	if len(m.Cells) != 1 || len(m.Cells[0].Results) != 1 {
		t.Fatalf("cells %+v, want one with one run", m.Cells)
	}
	er := m.Cells[0].Results[0]
	if !strings.Contains(stderr, "deliberate failure for the count") || !strings.Contains(er.Error, "exit status 3") {
		t.Errorf("explore should show the failed step's error: result %+v, progress:\n%s", er, stderr)
	}

	// The same lab through run --repeat, the variant's hook in hooks/.
	if err := os.MkdirAll(filepath.Join(lab, "hooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lab, "hooks", "after-8.primary.sh"), []byte(failingHook), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := realMain([]string{"run", "--lab", lab, "--backend", "local", "--archiver", "cp", "--repeat", "2", "--json"}, &out, &errb); code != 1 {
		t.Fatalf("run --repeat: exit %d, want 1 (a step failed)\n%s", code, errb.String())
	}
	var rr struct {
		Runs []struct {
			Verdict    string `json:"verdict"`
			FailedStep string `json:"failed_step"`
			Error      string `json:"error"`
		} `json:"runs"`
		Verdicts map[string]int `json:"verdicts"`
	}
	if err := json.Unmarshal(out.Bytes(), &rr); err != nil {
		t.Fatalf("decode: %v\n%s", err, out.String())
	}
	if len(rr.Runs) != 2 {
		t.Fatalf("runs %+v", rr.Runs)
	}
	rv := rr.Runs[0]
	if rv.Verdict != er.Verdict || rv.Verdict != "failed" || rr.Verdicts["failed"] != 2 || m.Cells[0].Verdicts["failed"] != 1 {
		t.Errorf("run --repeat counts %q (%v), explore %q (%v): want failed in both", rv.Verdict, rr.Verdicts, er.Verdict, m.Cells[0].Verdicts)
	}
	if rv.FailedStep != er.FailedStep || !strings.Contains(rv.Error, "exit status 3") || !strings.Contains(errb.String(), "deliberate failure for the count") {
		t.Errorf("run --repeat should name step %s and show its error: %+v, progress:\n%s", er.FailedStep, rv, errb.String())
	}
}
