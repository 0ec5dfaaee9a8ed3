package steps

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"walstep/cluster"
)

// A hook that daemonises (a background job keeping stdout open, setsid,
// nohup) ends as soon as its shell does, with a line naming what walstep
// ended, and none of its processes runs once the step is done.
func TestDaemonisingHookLeavesNothing(t *testing.T) {
	env := hookLab(t)
	t.Cleanup(func() { _ = env.Backend.Close(context.Background(), true) })
	path := env.Lab.Path("hooks", "after-0.primary.sh")
	pids := hookPIDFile(t, env)
	hook := `f="$HOME/hook-pids"
sleep 300 & echo $! >> "$f"
setsid sleep 300 & echo $! >> "$f"
nohup sleep 300 >/dev/null 2>&1 & echo $! >> "$f"
echo hook done
`
	if err := os.WriteFile(path, []byte(hook), 0o644); err != nil {
		t.Fatal(err)
	}
	step := hookStep(env, Hook{After: "0", Node: cluster.Primary, Kind: "sh", Path: path}, "0+1")
	begin := time.Now()
	st, lines := runOne(t, step, time.Minute)
	took := time.Since(begin)
	t.Logf("daemonising hook: step %s after %s; %q", st.Status, took.Round(time.Millisecond), lines[len(lines)-1])
	if st.Status != Done {
		t.Fatalf("status %s %v\n%s", st.Status, st.Err, strings.Join(lines, "\n"))
	}
	if !hasLine(lines, "ended 3 process(es) it left running") {
		t.Errorf("no line says what was ended:\n%s", strings.Join(lines, "\n"))
	}
	if got := pids(); len(got) != 3 {
		t.Fatalf("the hook wrote pids %v, want 3", got)
	}
	if left := alivePIDs(pids()); len(left) > 0 {
		t.Errorf("the hook's processes outlived its step: %v", left)
	}
	if took > 4*time.Second {
		t.Errorf("the step took %s: it waited for what the hook left", took)
	}
}
