package tui

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"walstep/cluster"
	"walstep/pg"
	"walstep/steps"
)

// fakeRunner records the commands the model sends; tests feed events by
// calling Update with eventMsg directly.
type fakeRunner struct {
	mu     sync.Mutex
	calls  []string
	events chan steps.Event
	snap   steps.Progress
}

func newFakeRunner(n int) *fakeRunner {
	return &fakeRunner{events: make(chan steps.Event, 16), snap: steps.Progress{States: make([]steps.StepState, n), Running: -1, Breakpoints: map[int]bool{}}}
}

func (f *fakeRunner) record(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, a...))
}

func (f *fakeRunner) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeRunner) Run(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
func (f *fakeRunner) Next()                         { f.record("next") }
func (f *fakeRunner) Continue()                     { f.record("continue") }
func (f *fakeRunner) Pause()                        { f.record("pause") }
func (f *fakeRunner) Retry(i int)                   { f.record("retry %d", i) }
func (f *fakeRunner) Skip(i int)                    { f.record("skip %d", i) }
func (f *fakeRunner) Jump(i int)                    { f.record("jump %d", i) }
func (f *fakeRunner) Rewind(i int)                  { f.record("rewind %d", i) }
func (f *fakeRunner) Cancel()                       { f.record("cancel") }
func (f *fakeRunner) ToggleBreakpoint(i int)        { f.record("break %d", i) }
func (f *fakeRunner) Events() <-chan steps.Event    { return f.events }
func (f *fakeRunner) Snapshot() steps.Progress      { return f.snap }

// fakeServers stands for a backend: fixed addresses, a log, a data dir.
type fakeServers struct {
	dataDir   map[cluster.Node]string
	relConfig bool // include_dir is the local backend's relative link
	logs      map[cluster.Node][]string
	control   string
	shell     []string
}

func (f *fakeServers) Name() string { return "fake" }
func (f *fakeServers) Addr(n cluster.Node) string {
	if n == cluster.Primary {
		return "127.0.0.1:54321"
	}
	return "127.0.0.1:54322"
}
func (f *fakeServers) Shell(n cluster.Node) ([]string, string) {
	if f.shell != nil {
		return f.shell, f.dataDir[n]
	}
	return []string{"true"}, f.dataDir[n]
}
func (f *fakeServers) LogTail(_ context.Context, n cluster.Node, _ int) ([]string, error) {
	return f.logs[n], nil
}
func (f *fakeServers) DataDir(n cluster.Node) string { return f.dataDir[n] }

// Paths are the seed's container paths, with the config dir where the
// lab keeps it (relConfig: the local backend's relative link instead).
func (f *fakeServers) Paths(n cluster.Node) cluster.ServerPaths {
	p := cluster.ServerPaths{Data: f.dataDir[n], Config: "/custom-pg-configs", ConfigDir: f.area(n, cluster.AreaConfig)}
	if f.relConfig {
		p.Config = cluster.ConfigLink
	}
	return p
}

// area is where the fake keeps an area: the lab beside the data dir.
func (f *fakeServers) area(n cluster.Node, a cluster.FileArea) string {
	lab := filepath.Dir(f.dataDir[n])
	switch {
	case a == cluster.AreaConfig && n == cluster.Replica:
		return filepath.Join(lab, cluster.ReplicaConfig)
	case a == cluster.AreaConfig:
		return filepath.Join(lab, cluster.PrimaryConfig)
	case a == cluster.AreaStorage:
		return filepath.Join(lab, cluster.StorageDir)
	}
	return f.dataDir[n]
}

func (f *fakeServers) ReadFile(_ context.Context, n cluster.Node, a cluster.FileArea, name string) ([]byte, error) {
	if f.dataDir[n] == "" {
		return nil, fs.ErrNotExist
	}
	return os.ReadFile(filepath.Join(f.area(n, a), name))
}

func (f *fakeServers) ReadDir(_ context.Context, n cluster.Node, a cluster.FileArea, name string) ([]cluster.FileInfo, error) {
	if f.dataDir[n] == "" {
		return nil, fs.ErrNotExist
	}
	dir := filepath.Join(f.area(n, a), name)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []cluster.FileInfo
	for _, e := range ents {
		fi := cluster.FileInfo{Name: e.Name(), Dir: e.IsDir()}
		if info, err := e.Info(); err == nil {
			fi.Size = info.Size()
		}
		if e.Type()&fs.ModeSymlink != 0 {
			fi.Link, _ = os.Readlink(filepath.Join(dir, e.Name()))
		}
		out = append(out, fi)
	}
	return out, nil
}
func (f *fakeServers) ControlData(context.Context, cluster.Node) (string, error) {
	if f.control == "" {
		return "", fmt.Errorf("pg_controldata: no data dir")
	}
	return f.control, nil
}

// clock is the tests' start time, so elapsed times and reading ages are
// stable.
var clock = time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// playbook is the real playbook's text (the actions are never run here).
func playbook() []steps.Step { return steps.Playbook(&steps.Env{}) }

// testModel is a model over the real playbook, a fake runner and fake
// servers, sized 80x24, with a poll that returns snap.
func testModel(snap pg.Snapshot) (Model, *fakeRunner) {
	m, fr, _ := testModelClock(snap)
	return m, fr
}

// testModelClock is testModel with the clock it uses.
func testModelClock(snap pg.Snapshot) (Model, *fakeRunner, *fakeClock) {
	pb := playbook()
	c := &fakeClock{t: clock}
	fr := newFakeRunner(len(pb))
	m := New(Config{
		Steps:   pb,
		Runner:  fr,
		Servers: &fakeServers{},
		Poll:    func(context.Context) pg.Snapshot { return snap },
		Header:  "local · cp · /tmp/lab",
		Now:     c.Now,
	})
	return m, fr, c
}

// freshSnap is a poll of a fresh lab: nothing created yet.
func freshSnap() pg.Snapshot {
	return pg.Snapshot{Seq: 1, At: clock,
		Nodes: pg.SeedNodes(pg.Reading{Node: "primary", At: clock, Process: pg.ProcNone, Role: pg.RoleUnknown}, pg.Reading{Node: "replica", At: clock, Process: pg.ProcNone, Role: pg.RoleUnknown}),
	}
}

// send runs msgs through Update in order and returns the model.
func send(m Model, msgs ...tea.Msg) Model {
	for _, msg := range msgs {
		nm, _ := m.Update(msg)
		m = nm.(Model)
	}
	return m
}

func ev(kind steps.EventKind, i int) steps.Event { return steps.Event{Kind: kind, Index: i} }

// polled delivers snap as the answer to the model's current poll.
func polled(m Model, snap pg.Snapshot) Model {
	return send(m, pollMsg{gen: m.pollGen, snap: snap})
}

func keyMsg(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "pgup":
		return tea.KeyMsg{Type: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "home":
		return tea.KeyMsg{Type: tea.KeyHome}
	case "end":
		return tea.KeyMsg{Type: tea.KeyEnd}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}
