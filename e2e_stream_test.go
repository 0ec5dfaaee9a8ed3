package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// The default lab's replica is refused by the primary ~40 ms after its wal
// receiver starts, while the receiver already says "streaming" on timeline
// 2: a race that sometimes made F6 and the verdict call it healthy. Every
// run must come out diverged, and F6 must not say it streams.
func TestE2ELocalDefaultLabDivergesEveryRun(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	const runs = 5
	for i := 1; i <= runs; i++ {
		rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp", "-v")
		if code != 0 {
			t.Fatalf("run %d: exit %d, stderr:\n%s", i, code, stderr)
		}
		if strings.Contains(stderr, "replica streams from the primary") {
			t.Errorf("run %d: F6 says the refused replica streams:\n%s", i, lastLines(stderr, 8))
		}
		if v, _ := rep.Diagnosis["verdict"].(string); v != "diverged" {
			t.Fatalf("run %d: verdict %q, want diverged: %v", i, v, rep.Diagnosis["explanation"])
		}
		assertDiverged(t, rep)
	}
}

// Without a recovery target the replica streams, and F6 says so with the
// primary's walsender as its proof.
func TestE2ELocalStreamingIsConfirmedByThePrimary(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab, "primary_restore.conf", noTarget)
	rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp", "-v")
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "replica streams from the primary on timeline 2 (the primary's walsender") {
		t.Errorf("F6 outcome lacks the primary's walsender as proof:\n%s", lastLines(stderr, 8))
	}
	assertHealthy(t, rep)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
