package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"walstep/explore"
)

// A merge's output is a user-named place: an earlier merge's files there
// are kept unless --force, and the refusal comes before any reading.
func TestExploreMergeOutNeedsForce(t *testing.T) {
	dir := t.TempDir()
	shard := filepath.Join(dir, "lab", "explore", "x")
	if err := os.MkdirAll(shard, 0o755); err != nil {
		t.Fatal(err)
	}
	m := explore.Matrix{Backend: "local", Repeat: 1, Variants: []explore.Variant{{Name: "default"}}, Columns: []explore.Column{{PG: 15, Archiver: "cp"}},
		Identity: explore.Identity{Variants: []explore.VariantID{{Name: "default", Hash: "a"}}, Columns: []string{"pg15 cp"}, Backend: "local", Repeat: 1,
			Shard: explore.Shard{K: 1, N: 1}},
		Cells: []*explore.Cell{{Variant: "default", PG: 15, Archiver: "cp", Runs: 1, Verdicts: map[string]int{"diverged": 1},
			Results: []explore.RunResult{{Run: 1, Verdict: "diverged", Transcript: "default/pg15-cp/run1/transcript.md"}}}}}
	b, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(shard, "matrix.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "merged")
	merge := func(extra ...string) (int, string, string) {
		var o, e bytes.Buffer
		code := realMain(append(append([]string{"explore", "merge", "--out", out}, extra...), filepath.Join(dir, "lab")), &o, &e)
		return code, o.String(), e.String()
	}
	if code, stdout, stderr := merge(); code != 0 || !strings.Contains(stdout, "diverged 1/1") || !strings.Contains(stdout, "every cell of the matrix has all its runs") {
		t.Fatalf("first merge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	md, _ := os.ReadFile(filepath.Join(out, "matrix.md"))
	if !strings.Contains(string(md), "(../lab/explore/x/default/pg15-cp/run1/transcript.md)") {
		t.Errorf("matrix.md does not link the run relative to itself:\n%s", md)
	}
	if code, _, stderr := merge(); code == 0 || !strings.Contains(stderr, "pass --force") {
		t.Errorf("second merge without --force: exit %d, %q", code, stderr)
	}
	if code, _, stderr := merge("--force"); code != 0 {
		t.Errorf("merge --force: exit %d, %q", code, stderr)
	}
	// The lab holds the earlier merge's output too when --out is inside
	// it: that is not a shard.
	out = filepath.Join(dir, "lab", "merged")
	if code, _, stderr := merge(); code != 0 {
		t.Errorf("merge into the lab: exit %d, %q", code, stderr)
	}
	if code, _, stderr := merge("--force"); code != 0 {
		t.Errorf("merge again into the lab: exit %d, %q", code, stderr)
	}
}
