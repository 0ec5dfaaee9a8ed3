package steps

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"walstep/cluster"
)

// runOne runs steps[0] through a Runner, draining events, and returns its
// final state and every output line the events carried.
func runOne(t *testing.T, s Step, within time.Duration) (StepState, []string) {
	t.Helper()
	r := NewRunner([]Step{s})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		for range r.Events() {
		}
		<-done
	}()
	r.Next()
	var lines []string
	deadline := time.After(within)
	for {
		select {
		case e := <-r.Events():
			switch e.Kind {
			case StepOutput:
				lines = append(lines, e.Line)
			case Idle:
				return r.Snapshot().States[0], lines
			}
		case <-deadline:
			t.Fatalf("the step did not end within %s", within)
		}
	}
}

func writeLines(w io.Writer, s string) { _, _ = io.WriteString(w, s) }

// Output is read in linear time and kept bounded: the first lines as they
// come, a line that says what was dropped, then the last lines; a long
// line is cut saying by how much; control sequences never pass.
func TestLineWriterBoundsAndSays(t *testing.T) {
	step := Step{ID: "x", Run: func(_ context.Context, out io.Writer) error {
		writeLines(out, "\x1b]0;PWNED\x07title\x1b[2J\n")
		writeLines(out, strings.Repeat("y", 3*MaxLineBytes)+"\n")
		// One line split over writes, then a flood of short lines.
		writeLines(out, "par")
		writeLines(out, "tial\n")
		for i := range 100000 {
			fmt.Fprintf(out, "line %d\n", i)
		}
		writeLines(out, "no newline at the end")
		return nil
	}}
	st, lines := runOne(t, step, time.Minute)
	if st.Status != Done {
		t.Fatalf("status %s %v", st.Status, st.Err)
	}
	if lines[0] != "title" {
		t.Errorf("control sequences passed: %q", lines[0])
	}
	if !strings.HasSuffix(lines[1], fmt.Sprintf("… (%d more bytes of this line not kept)", 2*MaxLineBytes)) || len(lines[1]) > MaxLineBytes+60 {
		t.Errorf("long line: %d bytes, ends %q", len(lines[1]), lines[1][len(lines[1])-60:])
	}
	if lines[2] != "partial" {
		t.Errorf("split line %q", lines[2])
	}
	if len(lines) > MaxOutputLines+1 || len(st.Output) > MaxOutputLines {
		t.Errorf("kept %d event lines, %d state lines: want at most %d", len(lines), len(st.Output), MaxOutputLines)
	}
	notice := lines[len(lines)-tailLines-1]
	if !strings.Contains(notice, "lines (") || !strings.Contains(notice, "of this output not kept; its last 200 lines follow") {
		t.Errorf("no line says what was dropped: %q", notice)
	}
	if last := lines[len(lines)-1]; last != "no newline at the end" || lines[len(lines)-2] != "line 99999" {
		t.Errorf("the output's end is not kept: %q %q", lines[len(lines)-2], last)
	}
}

// A real hook printing 50 MB of short lines finishes in seconds (the old
// writer copied the rest of its buffer per line: hours), and its step
// keeps a bounded output.
func TestHookWith50MBOutput(t *testing.T) {
	env := hookLab(t)
	t.Cleanup(func() { _ = env.Backend.Close(context.Background(), true) })
	path := env.Lab.Path("hooks", "after-0.primary.sh")
	if err := os.WriteFile(path, []byte("yes 'a short line of hook output' | head -c 52428800\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	step := hookStep(env, Hook{After: "0", Node: cluster.Primary, Kind: "sh", Path: path}, "0+1")
	begin := time.Now()
	st, lines := runOne(t, step, 2*time.Minute)
	t.Logf("50 MB hook: %s, %d lines shown; %s", time.Since(begin).Round(time.Millisecond), len(lines), lines[len(lines)-tailLines-1])
	if st.Status != Done {
		t.Fatalf("status %s %v", st.Status, st.Err)
	}
	if len(st.Output) > MaxOutputLines || !hasLine(st.Output, "MB) of this output not kept") {
		t.Errorf("kept %d lines, none says what was dropped", len(st.Output))
	}
}

// A hook that hangs is stopped at --hook-timeout, with a line that says so,
// and its processes are gone.
func TestHangingHookTimesOut(t *testing.T) {
	env := hookLab(t)
	env.Timeouts.Hook = 2 * time.Second
	t.Cleanup(func() { _ = env.Backend.Close(context.Background(), true) })
	path := env.Lab.Path("hooks", "after-0.primary.sh")
	pids := hookPIDFile(t, env)
	if err := os.WriteFile(path, []byte("echo started; echo $$ >> \"$HOME/hook-pids\"; sleep 1000 & echo $! >> \"$HOME/hook-pids\"; wait\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	step := hookStep(env, Hook{After: "0", Node: cluster.Primary, Kind: "sh", Path: path}, "0+1")
	st, _ := runOne(t, step, time.Minute)
	if st.Status != Failed || st.Err == nil || !strings.Contains(st.Err.Error(), "did not end within 2s") || !strings.Contains(st.Err.Error(), "--hook-timeout") {
		t.Fatalf("hanging hook: %s %v", st.Status, st.Err)
	}
	if got := pids(); len(got) < 2 {
		t.Fatalf("the hook wrote pids %v, want its shell's and its sleep's", got)
	}
	if left := alivePIDs(pids()); len(left) > 0 {
		t.Errorf("the hook's processes outlived it: %v", left)
	}
}

// hookPIDFile returns a reader of the pids a hook appends to
// $HOME/hook-pids (the lab's run/home); the test's cleanup kills them, so
// a failing test leaves nothing running.
func hookPIDFile(t *testing.T, env *Env) func() []int {
	t.Helper()
	file := env.Lab.Path(cluster.RunDir, "home", "hook-pids")
	read := func() []int {
		b, _ := os.ReadFile(file)
		var ps []int
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
				ps = append(ps, pid)
			}
		}
		return ps
	}
	t.Cleanup(func() {
		for _, pid := range alivePIDs(read()) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return read
}

// alivePIDs returns those of pids that run (a zombie does not).
func alivePIDs(pids []int) []int {
	var alive []int
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 && s[i+2] == 'Z' {
			continue
		}
		alive = append(alive, pid)
	}
	return alive
}

func hasLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func BenchmarkLineWriter(b *testing.B) {
	data := []byte(strings.Repeat("a short line of hook output\n", 1<<15)) // ~900 KB
	for b.Loop() {
		w := &lineWriter{r: &Runner{states: make([]StepState, 1), events: make(chan Event, MaxOutputLines+10)}, ctx: context.Background()}
		_, _ = w.Write(data)
		w.flush()
	}
	b.SetBytes(int64(len(data)))
}

// A SQL hook larger than an argument may be runs (psql -f of a file the
// server's environment reads), and a failing one does not quote itself in
// its error.
func TestBigSQLHookRunsFromAFile(t *testing.T) {
	env := hookLab(t)
	t.Cleanup(func() { _ = env.Backend.Close(context.Background(), true) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runUpTo(ctx, t, Playbook(env), 0, "3")
	big := strings.Repeat("-- a comment line that makes this hook large, larger than ARG_MAX allows\n", 10000)
	path := env.Lab.Path("hooks", "after-3.primary.sql")
	if err := os.WriteFile(path, []byte(big+"select 'big-hook-ran';\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	step := hookStep(env, Hook{After: "3", Node: cluster.Primary, Kind: "sql", Path: path}, "3+1")
	st, _ := runOne(t, step, time.Minute)
	if st.Status != Done || !hasLine(st.Output, "big-hook-ran") {
		t.Fatalf("%d KB SQL hook: %s %v", len(big)>>10, st.Status, st.Err)
	}
	if strings.Count(step.Command, "\n") > hookShownLines+2 {
		t.Errorf("the step's command shows the whole hook: %d lines", strings.Count(step.Command, "\n"))
	}
	if err := os.WriteFile(path, []byte(big+"select no_such_column;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _ = runOne(t, step, time.Minute)
	if st.Status != Failed || len(st.Err.Error()) > 1000 {
		t.Fatalf("failing big hook: %s, error of %d bytes", st.Status, len(fmt.Sprint(st.Err)))
	}
}
