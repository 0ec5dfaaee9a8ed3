package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// recovery_target_action = 'pause' with a hook after step 12 that
// promotes the primary is a setup the playbook can continue from: step 12
// is done with the primary paused and says what it waits for, the hook
// promotes it, and PostgreSQL diverges as in the default lab; the row
// check agrees.
func TestE2ELocalPauseThenPromoteByHook(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab,
		"primary_restore.conf", "recovery_target = 'immediate'\nrecovery_target_action = 'pause'\n",
		"hooks/after-12.primary.sql", "select pg_promote();\n")
	rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp", "-v", "--keep-running")
	t.Cleanup(func() { runMain("clean", "--lab", lab) })
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "primary is paused at the end of recovery") || !strings.Contains(stderr, "after-12.primary.sql") {
		t.Errorf("step 12 should say the primary is paused and which hook may promote it:\n%s", stderr)
	}
	assertDiverged(t, rep)
	if markerArrives(t, openLocal(t, lab), 5*time.Second) {
		t.Errorf("diverged, but a row written on the primary reached the replica")
	}
}
