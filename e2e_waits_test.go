package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// walstep watches servers without touching them: a wait reads
// postmaster.pid, the process state, pg_controldata and the log, and
// connects only once a server says it accepts connections. Before, a
// connection every 25 ms while a server started left dozens of "the
// database system is starting up" lines, and a pause-state query racing
// the promotion left "ERROR: recovery is not in progress" in the logs the
// user reads, and a poller connection kept open while a step stopped the
// server left "FATAL: terminating connection due to administrator command".
var probeTraces = []string{
	"the database system is starting up",
	"the database system is not yet accepting connections",
	"the database system is shutting down",
	"recovery is not in progress",
	"terminating connection due to administrator command",
}

// assertNoProbeTraces fails when a server log of lab holds a line that
// walstep's own probes cause.
func assertNoProbeTraces(t *testing.T, lab string) {
	t.Helper()
	for _, node := range []string{"primary", "replica"} {
		b, err := os.ReadFile(filepath.Join(lab, "logs", node+".log"))
		if err != nil {
			t.Fatalf("read %s log: %v", node, err)
		}
		n := 0
		for _, l := range strings.Split(string(b), "\n") {
			for _, p := range probeTraces {
				if strings.Contains(l, p) {
					if n < 3 {
						t.Errorf("%s log holds a probe's trace: %s", node, l)
					}
					n++
				}
			}
		}
		if n > 3 {
			t.Errorf("%s log: %d probe traces in all", node, n)
		}
	}
}

func TestE2ELocalDefaultRunLeavesNoProbeTraces(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp")
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	assertDiverged(t, rep)
	assertNoProbeTraces(t, lab)
}

func TestE2EDockerDefaultRunLeavesNoProbeTraces(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	lab, flags := dockerLab(t, img)
	rep, code, stderr := runJSON(t, flags...)
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	assertDiverged(t, rep)
	assertNoProbeTraces(t, lab)
}

// stepOf returns the report's step id.
func stepOf(t *testing.T, rep jsonReport, id string) (status, errText string) {
	t.Helper()
	for _, s := range rep.Steps {
		if s.ID == id {
			return s.Status, s.Error
		}
	}
	t.Fatalf("no step %s in the report", id)
	return "", ""
}

// A replica that never reaches its recovery target is not "done": a syntax
// error in replica_restore.conf makes it exit with code 1 at step 12, and
// the step fails with PostgreSQL's reason (before, 12 and F2 were done and
// the run exited 0).
func TestE2ELocalReplicaConfErrorFailsStep12(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab, "replica_restore.conf", "recovery_target = 'immediate'\nrecovery_target_action = 'shutdown'\nthis is not a setting\n")
	rep, code, _ := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp")
	if code == 0 {
		t.Fatal("run exit 0 with a replica that could not start")
	}
	st, msg := stepOf(t, rep, "12")
	if st != "failed" || !strings.Contains(msg, "exited with code 1") || !strings.Contains(msg, "syntax error") {
		t.Errorf("step 12: %s %q, want failed with the exit code and the syntax error", st, msg)
	}
}

// SIGKILL of the replica while F2 waits for its shutdown at the target
// fails F2, naming the signal. A hook after F1 marks the replica's data dir
// (a hook's own background processes end with the hook, so the killer is
// the test itself): once the mark is there, the next postmaster.pid the
// replica writes is F2's, and the test kills the pid it names.
func TestE2ELocalReplicaKilledFailsF2(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab, "hooks/after-F1.replica.sh", "touch \"$PGDATA/walstep-test-after-F1\"\n")
	data := filepath.Join(lab, "replica-data")
	killed := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	go func() { killed <- killNextPostmaster(ctx, data, filepath.Join(data, "walstep-test-after-F1")) }()
	rep, code, _ := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp")
	if err := <-killed; err != nil {
		t.Fatalf("kill the replica during F2: %v", err)
	}
	if code == 0 {
		t.Fatal("run exit 0 with a replica killed during F2")
	}
	st, msg := stepOf(t, rep, "F2")
	if st != "failed" || !strings.Contains(msg, "signal 9") {
		t.Errorf("step F2: %s %q, want failed naming signal 9", st, msg)
	}
	if left := postgresOf(t, lab); len(left) > 0 {
		t.Errorf("postgres left running: %v", left)
	}
}

// killNextPostmaster waits for mark, then for a postmaster.pid in data
// naming a live process, and sends that pid SIGKILL.
func killNextPostmaster(ctx context.Context, data, mark string) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	marked := false
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("no postmaster after the mark (marked: %v): %w", marked, ctx.Err())
		case <-tick.C:
		}
		if !marked {
			_, err := os.Stat(mark)
			marked = err == nil
			continue
		}
		b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
		if err != nil {
			continue
		}
		first, _, _ := strings.Cut(string(b), "\n")
		pid, err := strconv.Atoi(strings.TrimSpace(first))
		if err != nil || pid <= 1 {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			return nil
		}
	}
}

// A replica_restore.conf without a recovery target leaves the replica a
// standby that never shuts down: step 12 says so as soon as the replica
// runs, instead of waiting out --wait and failing on a deadline.
func TestE2EReplicaWithoutTargetFailsStep12WithTheReason(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab, "replica_restore.conf", "# no recovery target: the replica stays a standby\n")
	rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp", "--wait", "20s")
	if code != 1 {
		t.Fatalf("run exit %d, want 1 (step 12 failed); stderr:\n%s", code, stderr)
	}
	status, errText := stepOf(t, rep, "12")
	if status != "failed" || !strings.Contains(errText, "no recovery target is set") {
		t.Fatalf("step 12: %s %q, want failed because no recovery target is set", status, errText)
	}
}

// When the primary fails at step 12 the step has failed: it does not go on
// waiting out --wait for a replica that restores towards a far target.
func TestE2EStep12EndsWhenThePrimaryFails(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab,
		"primary_restore.conf", "recovery_target = 'immediate'\nrecovery_target_action = 'promote'\nno_such_setting_here = 1\n",
		"replica_restore.conf", "recovery_target_lsn = '0/9000000'\nrecovery_target_action = 'shutdown'\n")
	rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp", "--wait", "30s")
	if code != 1 {
		t.Fatalf("run exit %d, want 1; stderr:\n%s", code, stderr)
	}
	status, errText := stepOf(t, rep, "12")
	if status != "failed" || !strings.Contains(errText, "no_such_setting_here") {
		t.Fatalf("step 12: %s %q, want failed on the primary's config error", status, errText)
	}
	if strings.Contains(errText, "replica") {
		t.Errorf("step 12 waited for the replica after the primary failed: %q", errText)
	}
}
