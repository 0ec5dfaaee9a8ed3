package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// daemonHook leaves processes behind and exits at once: a background job
// keeping stdout open, setsid, nohup, and a shell keeping stdout open; their
// pids go to the data dir (the server user's on both backends) and, for
// the test's cleanup, to $HOME.
const daemonHook = `f="$PGDATA/walstep-test-pids"
sleep 300 & echo $! >> "$f"
setsid sleep 300 & echo $! >> "$f"
nohup sleep 300 >/dev/null 2>&1 & echo $! >> "$f"
sh -c 'echo still writing; sleep 300' & echo $! >> "$f"
cp "$f" "$HOME/" 2>/dev/null
echo daemons started
`

// leftCheckHook fails, naming them, when any of daemonHook's processes
// still runs where the next step runs.
const leftCheckHook = `f="$PGDATA/walstep-test-pids"
n=0
for p in $(cat "$f"); do
  if read -r l < /proc/$p/stat 2>/dev/null; then set -- $l; [ "$3" = Z ] || { echo "left: $l"; n=$((n+1)); }; fi
done
echo "pids $(wc -w < "$f"), left $n"
[ $n = 0 ]
`

// runDaemonHook runs the default lab with daemonHook after step 3 and
// leftCheckHook after step 4, and checks the first ends promptly and the
// second finds nothing.
func runDaemonHook(t *testing.T, lab string, flags ...string) {
	t.Helper()
	initLabWith(t, lab, "hooks/after-3.primary.sh", daemonHook, "hooks/after-4.primary.sh", leftCheckHook)
	t.Cleanup(func() { // locally, whatever happened, nothing of the hook's stays
		b, _ := os.ReadFile(filepath.Join(lab, "run", "home", "walstep-test-pids"))
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && pidRuns(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	var out, errb bytes.Buffer
	code := realMain(append([]string{"run", "--json"}, flags...), &out, &errb)
	var rep struct {
		Steps []struct {
			ID      string  `json:"id"`
			Status  string  `json:"status"`
			Seconds float64 `json:"seconds"`
			Error   string  `json:"error"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v (exit %d)\n%s", err, code, errb.String())
	}
	seen := 0
	for _, s := range rep.Steps {
		switch s.ID {
		case "3+1":
			seen++
			t.Logf("daemonising hook: %s in %.2fs %s", s.Status, s.Seconds, s.Error)
			if s.Status != "done" || s.Seconds > 4 {
				t.Errorf("the daemonising hook: %s after %.1fs (%s), want done at once", s.Status, s.Seconds, s.Error)
			}
		case "4+1":
			seen++
			if s.Status != "done" {
				t.Errorf("the hook's processes outlived its step: %s %s\n%s", s.Status, s.Error, errb.String())
			}
		}
	}
	if seen != 2 {
		t.Fatalf("the hooks did not run (exit %d):\n%s", code, errb.String())
	}
}

func TestE2ELocalDaemonisingHookLeavesNothing(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	runDaemonHook(t, lab, "--lab", lab, "--backend", "local", "--archiver", "cp")
}

func TestE2EDockerDaemonisingHookLeavesNothing(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	lab, flags := dockerLab(t, img)
	runDaemonHook(t, lab, flags...)
}
