package steps

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"walstep/cluster"
)

// hookLab makes a real lab (reachable by the postgres user) with a local
// backend, and returns the playbook env.
func hookLab(t *testing.T) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: runs real PostgreSQL servers")
	}
	if _, err := cluster.FindPGBin(""); err != nil {
		t.Skip("no PostgreSQL binaries: " + err.Error())
	}
	base, err := os.MkdirTemp("", "walstep-hooks-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	lab, err := cluster.InitLab(filepath.Join(base, "lab"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(lab.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := cluster.NewLocal(cluster.LocalOptions{Lab: lab})
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Lab: lab, Backend: b, Archiver: cluster.CP{}}
}

func writeHook(t *testing.T, env *Env, name, content string) {
	t.Helper()
	if err := os.WriteFile(env.Lab.Path("hooks", name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func indexOf(t *testing.T, ss []Step, id string) int {
	t.Helper()
	for i, s := range ss {
		if s.ID == id {
			return i
		}
	}
	t.Fatalf("no step %s", id)
	return -1
}

func TestFindHooksNamingAndOrder(t *testing.T) {
	dir := t.TempDir()
	lab, err := cluster.InitLab(filepath.Join(dir, "lab"))
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Lab: lab}
	pb := Playbook(env)
	for _, n := range []string{"after-13.primary.sql", "after-4c.replica.sh", "after-13.replica.sh", "after-99.primary.sql", "notes.txt", "after-12.standby.sql"} {
		writeHook(t, env, n, "select 1;")
	}
	hooks, warnings, err := FindHooks(lab, pb)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hooks {
		got = append(got, h.After+" "+string(h.Node)+" "+h.Kind)
	}
	if want := "13 primary sql|13 replica sh|4c replica sh"; strings.Join(got, "|") != want {
		t.Errorf("hooks %q, want %q", strings.Join(got, "|"), want)
	}
	if len(warnings) != 3 {
		t.Errorf("want 3 warnings (unknown step, bad name, bad node), got %q", warnings)
	}
	all := WithHooks(env, pb, hooks)
	if len(all) != len(pb)+3 {
		t.Fatalf("playbook with hooks has %d steps, want %d", len(all), len(pb)+3)
	}
	i := indexOf(t, all, "13")
	if all[i+1].ID != "13+1" || all[i+2].ID != "13+2" || all[i+1].Parent != "13" || all[i+1].Hook == "" {
		t.Errorf("hooks not placed after 13: %+v %+v", all[i+1], all[i+2])
	}
	if !strings.Contains(all[i+1].Command, "select 1;") {
		t.Errorf("hook command text should show the file: %q", all[i+1].Command)
	}
}

// TestHooksRunRetryAndSkip runs the real playbook with SQL and shell hooks on
// both nodes; a failing hook stops continue, is retried after the user
// fixes it, and another failing hook is skipped.
func TestHooksRunRetryAndSkip(t *testing.T) {
	env := hookLab(t)
	writeHook(t, env, "after-4c.primary.sql", "select 'marker-' || count(*) from test;\n")
	writeHook(t, env, "after-4c.primary.sh", "echo \"pgdata=$PGDATA\"; test -f \"$PGDATA/PG_VERSION\"\n")
	writeHook(t, env, "after-13.primary.sql", "select no_such_column from test;\n")
	writeHook(t, env, "after-F6.replica.sh", "exit 7\n")
	writeHook(t, env, "after-F6.replica.sql", "select 'replica-in-recovery-' || pg_is_in_recovery();\n")
	hooks, _, err := FindHooks(env.Lab, Playbook(env))
	if err != nil {
		t.Fatal(err)
	}
	all := WithHooks(env, Playbook(env), hooks)
	r := NewRunner(all)
	h := startRunner(t, r)
	t.Cleanup(func() { _ = env.Backend.Close(context.Background(), true) }) // runs before the leak check

	r.Continue()
	bad := indexOf(t, all, "13+1")
	h.idle(ReasonFailed, bad)
	st := r.Snapshot()
	// Hooks after one step run in file-name order: .sh before .sql.
	if all[indexOf(t, all, "4c+1")].Hook != env.Lab.Path("hooks", "after-4c.primary.sh") {
		t.Fatalf("4c+1 is %s, want the .sh hook", all[indexOf(t, all, "4c+1")].Hook)
	}
	for _, id := range []string{"4c+1", "4c+2"} {
		if s := st.States[indexOf(t, all, id)]; s.Status != Done {
			t.Fatalf("hook %s: %s %v", id, s.Status, s.Err)
		}
	}
	if out := strings.Join(st.States[indexOf(t, all, "4c+2")].Output, "\n"); !strings.Contains(out, "marker-1") {
		t.Errorf("SQL hook output lacks its result:\n%s", out)
	}
	if out := strings.Join(st.States[indexOf(t, all, "4c+1")].Output, "\n"); !strings.Contains(out, "pgdata="+env.Backend.DataDir(cluster.Primary)) {
		t.Errorf("shell hook did not see PGDATA:\n%s", out)
	}
	if s := st.States[bad]; s.Status != Failed || !strings.Contains(strings.Join(s.Output, "\n"), "no_such_column") {
		t.Fatalf("failing hook: %s, output %q", s.Status, s.Output)
	}

	// The user fixes the hook and retries it: it reads the file again.
	writeHook(t, env, "after-13.primary.sql", "select slot_name from pg_replication_slots;\n")
	r.Retry(bad)
	h.finished(bad, Done)
	h.idle(ReasonStep, bad+1)

	r.Continue()
	shHook := indexOf(t, all, "F6+1")
	h.idle(ReasonFailed, shHook)
	if s := r.Snapshot().States[shHook]; !strings.Contains(s.Err.Error(), "exit status 7") {
		t.Errorf("shell hook error %v, want exit status 7", s.Err)
	}
	r.Skip(shHook)
	h.finished(shHook, Skipped)
	h.idle(ReasonSkip, shHook+1)
	r.Continue()
	h.idle(ReasonEnd, len(all))
	last := r.Snapshot().States[indexOf(t, all, "F6+2")]
	if last.Status != Done || !strings.Contains(strings.Join(last.Output, "\n"), "replica-in-recovery-t") {
		t.Errorf("replica SQL hook: %s %v %q", last.Status, last.Err, last.Output)
	}
}
