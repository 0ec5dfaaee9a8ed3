package main

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runUntil runs the walstep binary, sends SIGTERM once a progress line
// on stdout contains marker, and returns everything it printed.
func runUntil(t *testing.T, bin, marker string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var seen strings.Builder
	signalled := false
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if !signalled && strings.Contains(sc.Text(), marker) {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			signalled = true
		}
	}
	_ = cmd.Wait()
	if !signalled {
		t.Fatalf("never saw %q:\n%s", marker, seen.String())
	}
	return seen.String() + out.String()
}

// A run stopped by SIGTERM reports "interrupted", not a verdict; with
// --repeat the stopped run is named and not counted as unknown.
func TestInterruptedRunIsNotAnOutcome(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	bin := buildWalstep(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	flags := []string{"--lab", lab, "--backend", "local", "--archiver", "cp"}
	out := runUntil(t, bin, "4d   Take the base backup ...", append([]string{"run"}, flags...)...)
	if !strings.Contains(out, "interrupted: the run was stopped before its end") {
		t.Errorf("single run report after SIGTERM:\n%s", out)
	}
	out = runUntil(t, bin, "== run 2/3", append([]string{"run", "--repeat", "3"}, flags...)...)
	if !strings.Contains(out, "run 2 was interrupted and is not counted") || strings.Contains(out, "unknown") || !strings.Contains(out, "/1") {
		t.Errorf("--repeat report after SIGTERM:\n%s", out)
	}
}
