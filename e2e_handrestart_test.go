package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"walstep/cluster"
	"walstep/headless"
	"walstep/pg"
)

// restartHook restarts the standby the way a user does by hand: pg_ctl
// stop, then pg_ctl start with the config's own settings (no walstep
// options; the port comes from PGPORT), logging where walstep reads, and
// waits for the outcome in that log. A diverged standby does not start
// again: it now reads timeline 2's history from the archive and stops
// with "requested timeline 2 does not contain minimum recovery point".
const restartHook = `set -e
log="$PGDATA/../logs/replica.log"
n=$(wc -l < "$log")
pg_ctl -D "$PGDATA" -m fast -w stop
pg_ctl -D "$PGDATA" -w -t 60 -l "$log" start || true
for i in $(seq 1 300); do
	if tail -n +"$((n + 1))" "$log" | grep -q -e 'started streaming WAL' -e 'is ahead of' -e 'does not contain minimum recovery point'; then exit 0; fi
	sleep 0.1
done
echo "no wal receiver outcome in the log" >&2
exit 1
`

// markerArrives writes a row on the primary and reports whether the
// replica has it within wait: PostgreSQL's own answer to "does the replica
// follow the primary", read without walstep's diagnosis.
func markerArrives(t *testing.T, b cluster.Backend, wait time.Duration) bool {
	t.Helper()
	ctx := t.Context()
	mark := fmt.Sprintf("m%d", time.Now().UnixNano())
	c, err := cluster.Connect(ctx, b.ConnString(cluster.Primary))
	if err != nil {
		t.Fatalf("connect to the primary: %v", err)
	}
	defer cluster.Disconnect(c)
	// A table of its own: the seed's proof step made walstep_marker.
	for _, q := range []string{"create table if not exists handrestart_marker (m text)", "insert into handrestart_marker values ('" + mark + "')"} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		var n int
		if cluster.QueryRow(ctx, b.ConnString(cluster.Replica), "select count(*) from handrestart_marker where m = '"+mark+"'", &n) == nil && n == 1 {
			return true
		}
		time.Sleep(100 * time.Millisecond) // polling PostgreSQL until the deadline
	}
	return false
}

// postmasterLeft reports a live postmaster in either of the lab's data dirs.
func postmasterLeft(lab string) []string {
	var left []string
	for _, d := range []string{cluster.PrimaryData, cluster.ReplicaData} {
		if pid := cluster.PostmasterPID(filepath.Join(lab, d)); pid > 0 {
			left = append(left, fmt.Sprintf("%s: pid %d", d, pid))
		}
	}
	return left
}

// A hook that restarts the standby with pg_ctl leaves a server walstep did
// not start: it is polled and judged all the same (healthy without a
// recovery target, diverged on the default lab), the row check agrees, and
// walstep stops it at the end.
func TestE2ELocalStandbyRestartedByHook(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	for _, tc := range []struct {
		name    string
		files   []string
		healthy bool
	}{
		{"no-target", []string{"primary_restore.conf", noTarget}, true},
		{"default", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lab := filepath.Join(reachableTempDir(t), "lab")
			initLabWith(t, lab, append(tc.files, "hooks/after-F6.replica.sh", restartHook)...)
			rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp", "--keep-running")
			t.Cleanup(func() { runMain("clean", "--lab", lab) })
			if code != 0 {
				t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
			}
			b := openLocal(t, lab)
			arrived := markerArrives(t, b, map[bool]time.Duration{true: 30 * time.Second, false: 5 * time.Second}[tc.healthy])
			v, _ := rep.Diagnosis["verdict"].(string)
			if tc.healthy {
				if r := rep.Nodes[1]; r.Process != "up" {
					t.Fatalf("replica restarted by the hook reported %s (role %s); diagnosis %v", r.Process, r.Role, rep.Diagnosis)
				}
				assertHealthy(t, rep)
				if !arrived {
					t.Errorf("verdict %s but the marker row written on the primary never reached the replica", v)
				}
			} else {
				assertDivergedAfterRestart(t, rep)
				if arrived {
					t.Errorf("verdict %s but the marker row reached the replica", v)
				}
			}
			if code, _, stderr := runMain("clean", "--lab", lab); code != 0 {
				t.Fatalf("clean: %s", stderr)
			}
			if left := postmasterLeft(lab); len(left) > 0 {
				t.Errorf("postgres left after clean: %v", left)
			}
		})
	}
}

// assertDivergedAfterRestart checks a default lab whose replica was
// restarted: the fork where the default lab has it, the verdict, and
// PostgreSQL's refusal in the replica's log.
func assertDivergedAfterRestart(t *testing.T, rep jsonReport) {
	t.Helper()
	if v, _ := rep.Diagnosis["verdict"].(string); v != "diverged" {
		t.Errorf("diagnosis %v, want diverged", rep.Diagnosis)
	}
	if f := rep.Diagnosis["fork_lsn"]; f != "0/2000100" {
		t.Errorf("fork_lsn %v, want 0/2000100", f)
	}
	if tail := rep.Nodes[1].LogTail; !hasLine(tail, "does not contain minimum recovery point 0/3000000") && !hasLine(tail, "is ahead of") {
		t.Errorf("replica log lacks PostgreSQL's refusal:\n%s", strings.Join(tail, "\n"))
	}
	// A diverged standby restarted stops at once (it now reads timeline
	// 2's history): the proof step finds no server to ask.
	if rep.Nodes[1].Process == "up" {
		assertProof(t, rep, "absent", "agrees")
	} else {
		assertProof(t, rep, "no answer", "unknown")
	}
}

// openLocal opens a local backend on a lab a run left running.
func openLocal(t *testing.T, lab string) cluster.Backend {
	t.Helper()
	l, err := cluster.OpenOrInitLab(lab)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cluster.NewLocal(cluster.LocalOptions{Lab: l})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// shellRestart runs script in node's `x` shell (its environment, its
// directory) as walstep's user, as a user types it.
func shellRestart(t *testing.T, b cluster.Backend, node cluster.Node, script string) {
	t.Helper()
	argv, dir := b.Shell(node)
	argv[len(argv)-1] = "/bin/sh" // the user's $SHELL
	cmd := exec.CommandContext(t.Context(), argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("shell: %v\n%s", err, out)
	}
}

// awaitVerdict polls the session until its verdict is want, or fails at
// the deadline with the last diagnosis.
func awaitVerdict(t *testing.T, s *headless.Session, w pg.Watch, want pg.Verdict, within time.Duration) pg.Diagnosis {
	t.Helper()
	deadline := time.Now().Add(within)
	var d pg.Diagnosis
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		snap := s.Poll(ctx)
		cancel()
		w, d = w.Observe(snap)
		if d.Verdict == want {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("verdict %s after %s, want %s: %s (replica %s/%s)", d.Verdict, within, want, d.Explanation, snap.Nodes[1].Process, snap.Nodes[1].Role)
		}
	}
}

// The same restart typed in the debugger's shell while the session runs:
// the session polls the server it did not start, judges it, and stops it
// when it closes.
func TestE2ELocalStandbyRestartedInShell(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	for _, tc := range []struct {
		name  string
		files []string
		want  pg.Verdict
	}{
		{"no-target", []string{"primary_restore.conf", noTarget}, pg.VerdictHealthy},
		{"default", nil, pg.VerdictDiverged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lab := filepath.Join(reachableTempDir(t), "lab")
			initLabWith(t, lab, tc.files...)
			s, err := openSession(t.Context(), options{lab: lab, backend: "local", archiver: "cp"})
			if err != nil {
				t.Fatal(err)
			}
			closed := false
			defer func() {
				if !closed {
					_ = s.Close(true)
				}
			}()
			res := headless.RunPlaybook(t.Context(), s, io.Discard, false)
			if res.Failed >= 0 {
				t.Fatalf("step %s failed: %v", s.Steps[res.Failed].ID, res.Snap.States[res.Failed].Err)
			}
			awaitVerdict(t, s, res.Watch, tc.want, 60*time.Second)
			// As root, the shell is root's: pg_ctl refuses root, so the
			// user runs it as postgres.
			as := ""
			if os.Geteuid() == 0 {
				as = "runuser -u postgres -- "
			}
			shellRestart(t, s.Backend, cluster.Replica, as+`pg_ctl -D "$PGDATA" -m fast -w stop && { `+as+`pg_ctl -D "$PGDATA" -w -t 60 -l ../logs/replica.log start || true; }`+"\n")
			d := awaitVerdict(t, s, res.Watch, tc.want, 60*time.Second)
			arrived := markerArrives(t, s.Backend, map[bool]time.Duration{true: 30 * time.Second, false: 5 * time.Second}[tc.want == pg.VerdictHealthy])
			if arrived != (tc.want == pg.VerdictHealthy) {
				t.Errorf("verdict %s (%s) but the marker row arrived: %v", d.Verdict, d.Explanation, arrived)
			}
			closed = true
			if err := s.Close(true); err != nil {
				t.Fatalf("close: %v", err)
			}
			if left := postmasterLeft(lab); len(left) > 0 {
				t.Errorf("postgres the shell started left running after the session stopped its servers: %v", left)
			}
		})
	}
}

// On Docker the postmaster is the container's main process, so the user
// restarts the standby from the host: `docker restart` keeps the
// container (its mounts, its log) and walstep polls, judges and removes it
// as before.
func TestE2EDockerStandbyRestartedByHand(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	for _, tc := range []struct {
		name  string
		files []string
		want  pg.Verdict
	}{
		{"no-target", []string{"primary_restore.conf", noTarget}, pg.VerdictHealthy},
		{"default", nil, pg.VerdictDiverged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lab, flags := dockerLab(t, img)
			initLabWith(t, lab, tc.files...)
			prefix := flags[len(flags)-1]
			s, err := openSession(t.Context(), options{lab: lab, backend: "docker", archiver: "cp", image: img, initImage: img, prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			closed := false
			defer func() {
				if !closed {
					_ = s.Close(true)
				}
			}()
			res := headless.RunPlaybook(t.Context(), s, io.Discard, false)
			if res.Failed >= 0 {
				t.Fatalf("step %s failed: %v", s.Steps[res.Failed].ID, res.Snap.States[res.Failed].Err)
			}
			awaitVerdict(t, s, res.Watch, tc.want, 60*time.Second)
			if out, err := exec.CommandContext(t.Context(), "docker", "restart", prefix+"-replica").CombinedOutput(); err != nil {
				t.Fatalf("docker restart: %v\n%s", err, out)
			}
			d := awaitVerdict(t, s, res.Watch, tc.want, 60*time.Second)
			arrived := markerArrives(t, s.Backend, map[bool]time.Duration{true: 30 * time.Second, false: 5 * time.Second}[tc.want == pg.VerdictHealthy])
			if arrived != (tc.want == pg.VerdictHealthy) {
				t.Errorf("verdict %s (%s) but the marker row arrived: %v", d.Verdict, d.Explanation, arrived)
			}
			closed = true
			if err := s.Close(true); err != nil {
				t.Fatalf("close: %v", err)
			}
			assertNoDockerLeft(t, lab)
		})
	}
}

// pg_ctl restart inside a container ends it: the postmaster is the
// container's main process (as in the seed's compose setup), so its
// shutdown stops the container and the exec with it. The hook fails
// saying so and how to restart it, and the replica is shown stopped, not
// crashed or still running.
func TestE2EDockerHookRestartInsideContainer(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	lab, flags := dockerLab(t, img)
	initLabWith(t, lab, "primary_restore.conf", noTarget, "hooks/after-F6.replica.sh", "pg_ctl -D \"$PGDATA\" -m fast -w restart\n")
	rep, code, stderr := runJSON(t, flags...)
	if code != 1 {
		t.Fatalf("run exit %d, want 1 (the hook failed); stderr:\n%s", code, stderr)
	}
	var hook string
	for _, s := range rep.Steps {
		if s.ID == "F6+1" {
			hook = s.Status + ": " + s.Error
		}
	}
	if !strings.Contains(hook, "failed") || !strings.Contains(hook, "container") || !strings.Contains(hook, "docker restart") {
		t.Errorf("hook step: %q, want a failure saying the container stopped and how to restart it", hook)
	}
	if r := rep.Nodes[1]; r.Process != "stopped" {
		t.Errorf("replica after pg_ctl restart in its container: %s, want stopped", r.Process)
	}
}
