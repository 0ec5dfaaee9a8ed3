package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// A run stopped by SIGTERM reports "interrupted", not a verdict; with
// --repeat the stopped run is named and not counted as unknown.
func TestInterruptedRunIsNotAnOutcome(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	bin := buildWalstep(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	flags := []string{"--lab", lab, "--backend", "local", "--archiver", "cp"}
	out := signalAt(t, bin, append([]string{"run"}, flags...), "4d   Take the base backup ...")
	if !strings.Contains(out, "interrupted: the run was stopped before its end") {
		t.Errorf("single run report after SIGTERM:\n%s", out)
	}
	out = signalAt(t, bin, append([]string{"run", "--repeat", "3"}, flags...), "== run 2/3")
	if !strings.Contains(out, "run 2 was interrupted and is not counted") || strings.Contains(out, "unknown") || !strings.Contains(out, "/1") {
		t.Errorf("--repeat report after SIGTERM:\n%s", out)
	}
}
