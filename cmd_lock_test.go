package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"walstep/cluster/proctest"
)

// Two sessions on one lab: while a run holds the lab (its first hook waits
// for a file), a second run and a clean are refused with who holds it, and
// the first run's data dirs are untouched.
func TestSecondSessionOnALabIsRefused(t *testing.T) {
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab, "hooks/after-0.primary.sh", "i=0; while [ ! -e release ] && [ $i -lt 2400 ]; do sleep 0.05; i=$((i+1)); done; exit 3\n")
	done := make(chan int, 1)
	go func() {
		code, _, _ := runMain("run", "--lab", lab, "--backend", "local", "--archiver", "cp")
		done <- code
	}()
	// The first run is inside its hook once the hook's shell is running.
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(psOf(lab), ".walstep-hook.sh") {
		if time.Now().After(deadline) {
			t.Fatal("the first run never reached its hook")
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := fmt.Sprintf("lab in use by walstep pid %d", os.Getpid())
	for _, args := range [][]string{
		{"run", "--lab", lab, "--backend", "local", "--archiver", "cp"},
		{"clean", "--lab", lab},
	} {
		code, _, stderr := runMain(args...)
		if code == 0 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "walstep clean --force") {
			t.Errorf("%s while another session holds the lab: exit %d, stderr %q; want a refusal with %q", args[0], code, stderr, want)
		}
	}
	if _, err := os.Stat(filepath.Join(lab, "wal-g-storage")); err != nil {
		t.Errorf("the refused session touched the first one's lab: %v", err)
	}
	if err := os.WriteFile(filepath.Join(lab, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code == 0 {
			t.Error("the first run should fail at its hook (exit 3)")
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the first run did not end")
	}
	// The lock ends with the session: the lab can be cleaned now.
	if code, _, stderr := runMain("clean", "--lab", lab); code != 0 {
		t.Errorf("clean after the session ended: %d %s", code, stderr)
	}
}

// psOf is the command lines of the processes this test's runs started
// whose command line names pattern.
func psOf(pattern string) string {
	return strings.Join(proctest.Strings(proctest.Mine(pattern)), "\n")
}
