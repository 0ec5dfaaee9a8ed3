package steps

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"walstep/cluster"
)

// hookBackend records the hook text each run hands the server.
type hookBackend struct {
	cluster.Backend
	mu  sync.Mutex
	ran []string
}

func (b *hookBackend) Paths(cluster.Node) cluster.ServerPaths {
	return cluster.ServerPaths{ConfigDir: "/conf", Data: "/data"}
}
func (b *hookBackend) WriteFile(_ context.Context, _ cluster.Node, f cluster.ServerFile) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ran = append(b.ran, string(f.Data))
	return nil
}
func (b *hookBackend) Exec(context.Context, cluster.Node, string, []string, io.Writer) error {
	return nil
}
func (b *hookBackend) last() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.ran) == 0 {
		return ""
	}
	return b.ran[len(b.ran)-1]
}

// A hook step shows the file as read when it starts, on every retry and
// every pass, and that is the text it runs; a hook added while the
// debugger runs joins the checklist when step 0 starts a new pass.
func TestRunnerHookReadAtStartAndReplannedEachPass(t *testing.T) {
	lab, err := cluster.InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	b := &hookBackend{}
	env := &Env{Lab: lab, Backend: b}
	reset, one := &instant{}, &instant{}
	base := []Step{
		{ID: "0", Title: "reset", Resets: true, Run: reset.run},
		{ID: "1", Title: "one", Run: one.run},
	}
	hook := func(name, text string) {
		if err := os.WriteFile(lab.Path(cluster.HooksDir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plan := func() ([]Step, []string) {
		hooks, warnings, err := FindHooks(lab, base)
		if err != nil {
			t.Error(err)
		}
		return WithHooks(env, base, hooks), warnings
	}
	if err := os.MkdirAll(lab.Path(cluster.HooksDir), 0o755); err != nil {
		t.Fatal(err)
	}
	hook("after-0.primary.sh", "sleep 30\n")
	first, _ := plan()
	r := NewRunner(first)
	r.SetReplan(plan)
	h := startRunner(t, r)
	r.Next() // step 0 has run: running it again starts a new pass
	h.finished(0, Done)
	h.idle(ReasonStep, 1)

	hook("after-0.primary.sh", "echo 'hook: quick now'\n")
	r.Retry(1)
	e, _ := h.until("hook started", func(e Event) bool { return e.Kind == StepStarted })
	if !strings.Contains(e.Command, "hook: quick now") || strings.Contains(e.Command, "sleep 30") {
		t.Fatalf("the hook step shows %q, not the file as it is", e.Command)
	}
	h.finished(1, Done)
	h.idle(ReasonStep, 2)
	if got := b.last(); got != "echo 'hook: quick now'\n" {
		t.Fatalf("the hook ran %q", got)
	}
	if c := r.Snapshot().States[1].Command; c != e.Command {
		t.Fatalf("the state keeps %q, the event showed %q", c, e.Command)
	}

	hook("after-0.primary.sh", "echo second\n")
	r.Retry(1)
	e, _ = h.until("hook started again", func(e Event) bool { return e.Kind == StepStarted })
	if !strings.Contains(e.Command, "echo second") {
		t.Fatalf("the retry shows %q", e.Command)
	}
	h.finished(1, Done)
	h.idle(ReasonStep, 2)

	// A new pass finds a hook added since; the one edited shows as it is.
	hook("after-1.replica.sql", "select 1;\n")
	hook("after-99.primary.sh", "echo nowhere\n")
	hook("after-0.primary.sh", "echo third\n")
	r.SetBreakpoint(2) // step 1, to be carried over by its ID
	r.Jump(0)
	h.idle(ReasonJump, 0)
	r.Retry(0)
	p, _ := h.until("pass", func(e Event) bool { return e.Kind == PassStarted })
	var ids []string
	for _, s := range p.Steps {
		ids = append(ids, s.ID)
	}
	if !strings.Contains(p.Line, "hooks/after-99.primary.sh ignored: there is no step 99") {
		t.Errorf("the pass's line does not say which hook file it ignores: %q", p.Line)
	}
	if strings.Join(ids, " ") != "0 0+1 1 1+1" {
		t.Fatalf("the new pass's playbook is %v", ids)
	}
	if !strings.Contains(p.Steps[1].Command, "echo third") {
		t.Fatalf("the pending hook shows %q", p.Steps[1].Command)
	}
	h.started(0)
	h.finished(0, Done)
	h.idle(ReasonStep, 1)
	snap := r.Snapshot()
	if len(snap.States) != 4 || !snap.Breakpoints[2] || snap.Breakpoints[1] {
		t.Fatalf("after the replan: %d states, breakpoints %v", len(snap.States), snap.Breakpoints)
	}
	if len(r.Steps()) != 4 {
		t.Fatalf("Steps() has %d steps", len(r.Steps()))
	}
	r.Continue()
	h.idle(ReasonBreakpoint, 2)
	if got := b.last(); got != "echo third\n" {
		t.Fatalf("the hook ran %q in the new pass", got)
	}
}
