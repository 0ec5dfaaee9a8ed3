package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// explore --from 12 keeps one checkpoint of steps 0–11 per column and per
// variant whose files those steps read (no-target's primary_restore.conf,
// step 8), as run --from keeps one, and starts every run at step 12 from
// it: the verdicts are the full runs' (default diverges; no-target's
// replica fetches timeline 2's history from its own run's archive, so the
// paths steps 0–11 wrote were moved to the run's lab), and each run
// archived into its own lab.
func testExploreFrom(t *testing.T, backend string) {
	lab := filepath.Join(reachableTempDir(t), "lab")
	if code := realMain([]string{"init", lab}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("init: exit %d", code)
	}
	// A hook after step 13 shows the restore_command the run's primary
	// restores with (step 10 wrote it in the prefix's lab).
	hook := "#!/bin/sh\ngrep -h '^restore_command' \"$PGDATA/postgresql.conf\"\n"
	if err := os.WriteFile(filepath.Join(lab, "hooks", "after-13.primary.sh"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"--lab", lab, "--backend", backend, "--archiver", "cp", "--variants", "default,no-target", "--jobs", "2", "--from", "12"}
	if backend == "docker" {
		img := requireDockerE2E(t)
		args = append(args, "--pg", "15", "--image", "15="+img, "--prefix", "wse2exf-"+randSuffix())
	} else {
		skipWithoutPostgres(t)
	}
	m, code, stderr := exploreJSON(t, args...)
	if code != 0 {
		t.Fatalf("explore --from 12: exit %d\n%s", code, stderr)
	}
	checkCells(t, m, backend, 1, map[string]string{"default": "diverged", "no-target": "healthy"})
	if len(m.Prefixes) != 2 {
		t.Errorf("%d kept prefixes, want 2: the variants differ in a file step 8 reads", len(m.Prefixes))
	}
	for _, c := range m.Cells {
		for _, r := range c.Results {
			b, err := os.ReadFile(filepath.Join(m.Dir, r.Transcript))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "steps 0–11 ran once") {
				t.Errorf("%s: the transcript does not say steps 0–11 came from the kept prefix:\n%.600s", r.Transcript, b)
			}
			var restore string
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, "restore_command = ") && !strings.Contains(l, "grep") {
					restore = l
				}
			}
			if restore == "" || strings.Contains(restore, "/prefix/") {
				t.Errorf("%s: the run restores with %q, want its own archive, not the prefix's", r.Transcript, restore)
			}
		}
	}
	assertOwnArchives(t, m)
	if backend == "local" {
		if left := postgresOf(t, lab); len(left) > 0 {
			t.Errorf("postgres left running: %v", left)
		}
	}
	// The prefixes' checkpoints go with their data dirs.
	kept, _ := filepath.Glob(filepath.Join(m.Dir, "prefix", "*", "lab", "checkpoints", "*"))
	if len(kept) != 0 {
		t.Errorf("the kept prefixes were left behind: %v", kept)
	}
}

func TestE2EExploreLocalFrom(t *testing.T) {
	t.Parallel()
	testExploreFrom(t, "local")
}

func TestE2EExploreDockerFrom(t *testing.T) {
	t.Parallel()
	testExploreFrom(t, "docker")
}
