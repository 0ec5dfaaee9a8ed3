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

// smallDisk mounts a tmpfs of size for a lab and cleans both up.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	skipWithoutPostgres(t)
	dir := filepath.Join(reachableTempDir(t), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v %s", err, out)
	}
	lab := filepath.Join(dir, "lab")
	t.Cleanup(func() {
		runMain("clean", "--lab", lab)
		_ = exec.Command("umount", "-l", dir).Run()
	})
	return lab
}

// failedStep is the failed step of a report, "" when none failed.
func failedStep(rep jsonReport) (id, msg string) {
	for _, s := range rep.Steps {
		if s.Status == "failed" {
			return s.ID, s.Error
		}
	}
	return "", ""
}

// A disk that fills before step 4f: the primary's shutdown checkpoint
// PANICs, and 4f fails quoting the PANIC instead of saying "done".
func TestFullDiskAtShutdownFailsTheStop(t *testing.T) {
	lab := smallDisk(t, "200M")
	initLabWith(t, lab, "hooks/after-4e.primary.sh", "dd if=/dev/zero of=primary-config/fill bs=1M 2>/dev/null; true\n")
	rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp", "--wait", "20s")
	if code == 0 {
		t.Fatalf("a run on a full disk passed:\n%s", stderr)
	}
	id, msg := failedStep(rep)
	if id != "4f" || !strings.Contains(msg, "PANIC:") || !strings.Contains(msg, "No space left on device") {
		t.Errorf("failed step %s: %q; want 4f quoting the PANIC", id, msg)
	}
	t.Logf("failed step %s: %s", id, msg)
}

// A disk nearly full at step 12: restore_command's cp cannot write the
// segment, and the failure quotes cp's "No space left on device", not only
// the server's "could not locate required checkpoint record" after it.
func TestFullDiskAtRestoreNamesTheCause(t *testing.T) {
	lab := smallDisk(t, "256M") // room for steps 0-11 whatever WAL they preallocate
	// Leave 4 MB: enough for the pid file and the logs, not for a 16 MB
	// segment.
	initLabWith(t, lab, "hooks/after-11.primary.sh", "avail=$(df -Pk . | awk 'NR==2 {print $4}'); dd if=/dev/zero of=primary-config/fill bs=1k count=$((avail - 4096)) 2>/dev/null; true\n")
	rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp", "--wait", "20s")
	if code == 0 {
		t.Fatalf("a run on a full disk passed:\n%s", stderr)
	}
	id, msg := failedStep(rep)
	if id != "12" || !strings.Contains(msg, "No space left on device") {
		t.Errorf("failed step %s: %q; want 12 naming the full disk", id, msg)
	}
	t.Logf("failed step %s: %s", id, msg)
}
