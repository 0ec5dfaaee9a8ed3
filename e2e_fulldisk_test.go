package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// On a full disk the primary PANICs ("could not write to file …: No space
// left on device") and the next step fails on a refused connection: the
// failed step says what the server said, not only the refusal.
func TestFullDiskFailureQuotesThePanic(t *testing.T) {
	skipWithoutPostgres(t)
	dir := filepath.Join(reachableTempDir(t), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=80M,mode=0755", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v %s", err, out)
	}
	lab := filepath.Join(dir, "lab")
	t.Cleanup(func() {
		runMain("clean", "--lab", lab)
		_ = exec.Command("umount", "-l", dir).Run()
	})
	initLabWith(t, lab, "hooks/after-4c.primary.sh", `dd if=/dev/zero of=primary-config/fill bs=1M 2>/dev/null
psql -c "insert into test select g::text from generate_series(1,20000) g"; psql -c "select pg_switch_wal()"; true
`)
	rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp", "--wait", "20s")
	if code == 0 {
		t.Fatalf("a run on a full disk passed:\n%s", stderr)
	}
	var failed string
	for _, s := range rep.Steps {
		if s.Status == "failed" {
			failed = s.ID + ": " + s.Error
		}
	}
	if !strings.Contains(failed, "PANIC:") || !strings.Contains(failed, "No space left on device") {
		t.Errorf("the failed step does not quote the PANIC: %q", failed)
	}
	t.Logf("failed step: %s", failed)
}
