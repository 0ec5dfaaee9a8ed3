package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"walstep/cast"
	"walstep/cast/casttest"
	"walstep/steps"
)

// tmuxPane is walstep running in a tmux pane of its own server.
type tmuxPane struct {
	t    *testing.T
	sock string
	exit string // the file the pane's shell writes walstep's exit status to
}

// waitExit waits for walstep to exit and returns its exit status.
func (p *tmuxPane) waitExit(within time.Duration) string {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if b, err := os.ReadFile(p.exit); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("walstep did not exit; the screen:\n%s", p.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var tmuxServers int // one tmux server per pane: a killed one takes a while to go

// startInTmux runs command in a detached tmux session of width x height,
// under a shell: tmux continues a pane's own process the moment it stops,
// so a test that freezes walstep needs it one level down.
func startInTmux(t *testing.T, width, height int, command string) *tmuxPane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is missing (scripts/test.sh installs it)")
		}
		t.Skip("tmux is not installed")
	}
	tmuxServers++
	p := &tmuxPane{t: t, sock: fmt.Sprintf("walstep-rec-%d-%d", os.Getpid(), tmuxServers), exit: filepath.Join(t.TempDir(), "exit")}
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", p.sock, "kill-server").Run() })
	// remain-on-exit from the start: a walstep that exits at once still
	// leaves its pane to read.
	conf := filepath.Join(t.TempDir(), "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g remain-on-exit on\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.tm("-f", conf, "new-session", "-d", "-s", "rec", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height), command+"; echo $? >"+p.exit)
	return p
}

func (p *tmuxPane) tm(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", p.sock}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (p *tmuxPane) screen() string   { return p.tm("capture-pane", "-p", "-t", "rec") }
func (p *tmuxPane) keys(k ...string) { p.tm(append([]string{"send-keys", "-t", "rec"}, k...)...) }

// pid is the process the pane's shell runs.
func (p *tmuxPane) pid() int {
	shell := strings.TrimSpace(p.tm("display-message", "-p", "-t", "rec", "#{pane_pid}"))
	out, err := exec.Command("pgrep", "-P", shell).Output()
	n, err2 := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || err2 != nil {
		p.t.Fatalf("the process under tmux's shell %s: %v %v %q", shell, err, err2, out)
	}
	return n
}

func (p *tmuxPane) dead() bool {
	return strings.TrimSpace(p.tm("display-message", "-p", "-t", "rec", "#{pane_dead}")) == "1"
}

// waitFor polls the screen until every text shows, or fails with it.
func (p *tmuxPane) waitFor(within time.Duration, texts ...string) string {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := p.screen()
		all := true
		for _, x := range texts {
			all = all && strings.Contains(s, x)
		}
		if all {
			return s
		}
		if strings.Contains(s, "r retries it") || time.Now().After(deadline) || p.dead() {
			p.t.Fatalf("waiting for %q; the screen:\n%s", texts, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stableScreen is the pane once two captures in a row agree: tmux has
// drawn everything the frozen program wrote.
func (p *tmuxPane) stableScreen() string {
	prev := p.screen()
	for i := 0; i < 50; i++ {
		time.Sleep(50 * time.Millisecond)
		s := p.screen()
		if s == prev {
			return s
		}
		prev = s
	}
	p.t.Fatal("the screen kept changing with walstep stopped")
	return ""
}

func readCast(t *testing.T, path string) (cast.Header, []cast.Event) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, ev, err := cast.Read(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return h, ev
}

// The whole playbook recorded with --record: `c` to the end, a pause, then
// quit. The cast is valid, its times never go back, the pause is capped,
// the verdict is in it, and played back through a terminal emulator it
// ends on the screen walstep drew.
func TestE2ERecordWholeSession(t *testing.T) {
	skipWithoutPostgres(t)
	bin := buildWalstep(t)
	work := reachableTempDir(t)
	lab, rec := filepath.Join(work, "lab"), filepath.Join(work, "session.cast")
	if code, _, stderr := runMain("init", lab); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	t.Cleanup(func() { _, _, _ = runMain("clean", "--lab", lab) })
	const W, H = 100, 30
	started := time.Now()
	p := startInTmux(t, W, H, fmt.Sprintf("env TERM=xterm-256color %s --lab %s --backend local --archiver cp --record %s 2>%s", bin, lab, rec, filepath.Join(work, "stderr")))
	p.waitFor(30*time.Second, "Prepare the lab")
	p.keys("c")
	// The room's projector is wider: a resize mid-run is recorded.
	p.tm("resize-window", "-t", "rec", "-x", strconv.Itoa(W+10), "-y", strconv.Itoa(H+2))
	p.waitFor(4*time.Minute, "finished", "DIVERGED")

	// Freeze walstep: what tmux shows now is the last frame it drew. The
	// recording is written before the terminal, so it holds that frame.
	// A freeze between the two writes leaves the recording one frame
	// ahead: thaw and freeze again.
	pid := p.pid()
	// A failure while walstep is frozen must not leave it stopped: a
	// stopped process ignores the hang-up that ends the tmux session.
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	var screen, played string
	for try := 0; try < 3; try++ {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		screen = casttest.TrimScreen(p.stableScreen())
		h, ev := readCast(t, rec)
		var err error
		if played, err = casttest.LastFrame(h, ev); err != nil {
			t.Fatal(err)
		}
		if played == screen {
			break
		}
		_ = syscall.Kill(pid, syscall.SIGCONT)
		time.Sleep(300 * time.Millisecond)
	}
	if played != screen {
		t.Fatalf("the recording played back ends on\n%s\nbut walstep drew\n%s", played, screen)
	}
	// An idle stretch: walstep stays frozen well past the idle limit.
	idle := 2*cast.DefaultIdleLimit + time.Second
	time.Sleep(idle)
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	p.keys("q")
	p.waitFor(10*time.Second, "Stop the servers")
	p.keys("y")
	if code := p.waitExit(2 * time.Minute); code != "0" {
		t.Errorf("walstep exited with status %s", code)
	}
	wall := time.Since(started)

	h, ev := readCast(t, rec)
	if h.Version != 2 || h.Width != W || h.Height != H || h.Timestamp < started.Unix()-1 || h.Timestamp > time.Now().Unix() || !strings.Contains(h.Title, "walstep") {
		t.Errorf("header: %+v", h)
	}
	if h.IdleLimit != cast.DefaultIdleLimit.Seconds() {
		t.Errorf("idle_time_limit %v", h.IdleLimit)
	}
	resized := false
	for _, e := range ev {
		resized = resized || e.Kind == "r" && e.Data == fmt.Sprintf("%dx%d", W+10, H+2)
	}
	if !resized {
		t.Errorf("the resize to %dx%d is not recorded", W+10, H+2)
	}
	var out strings.Builder
	maxGap := 0.0
	var marks []string
	for i, e := range ev {
		if e.Kind != "o" && e.Kind != "r" && e.Kind != "m" {
			t.Errorf("event %d of kind %q", i, e.Kind)
		}
		if e.Kind == "m" {
			marks = append(marks, e.Data)
		}
		if i > 0 {
			gap := e.Time - ev[i-1].Time
			if gap < 0 {
				t.Fatalf("event %d at %.6f goes back from %.6f", i, e.Time, ev[i-1].Time)
			}
			maxGap = max(maxGap, gap)
		}
		if e.Kind == "o" {
			out.WriteString(e.Data)
		}
	}
	if maxGap > h.IdleLimit+0.001 {
		t.Errorf("a pause of %.3fs is longer than the idle limit %vs", maxGap, h.IdleLimit)
	}
	length := ev[len(ev)-1].Time
	if length > (wall - idle + cast.DefaultIdleLimit + time.Second).Seconds() {
		t.Errorf("the recording plays %.1fs of a %.1fs session with a %s pause: the pause was not capped", length, wall.Seconds(), idle)
	}
	text := ansi.Strip(out.String())
	for _, want := range []string{"DIVERGED", "ahead of the WAL", "finished"} {
		if !strings.Contains(text, want) {
			t.Errorf("the recording never shows %q", want)
		}
	}
	checkStepMarkers(t, marks)
	if !strings.Contains(out.String(), "\x1b[?1049l") {
		t.Errorf("the recording does not end by leaving the alternate screen")
	}
	stderr, _ := os.ReadFile(filepath.Join(work, "stderr"))
	if !strings.Contains(string(stderr), "session recorded in "+rec) {
		t.Errorf("stderr does not say where the recording is:\n%s", stderr)
	}
	t.Logf("recorded %d events, %.1fs of playback for a %.1fs session; %d bytes", len(ev), length, wall.Seconds(), fileSize(rec))

	// Recording again to the same file is refused before anything runs,
	// and the recording is left as it was.
	before, _ := os.ReadFile(rec)
	p.tm("kill-server")
	p = startInTmux(t, W, H, fmt.Sprintf("env TERM=xterm-256color %s --lab %s --backend local --archiver cp --record %s 2>%s", bin, lab, rec, filepath.Join(work, "stderr2")))
	if code := p.waitExit(30 * time.Second); code != "1" {
		t.Errorf("--record on an existing file: exit status %s, want 1", code)
	}
	if b, _ := os.ReadFile(filepath.Join(work, "stderr2")); !strings.Contains(string(b), "exists: pass --force") || strings.Count(string(b), "\n") != 1 {
		t.Errorf("--record on an existing file: want one line saying it exists, got:\n%s", b)
	}
	if after, _ := os.ReadFile(rec); string(after) != string(before) {
		t.Errorf("an existing recording was changed")
	}
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return st.Size()
}

// checkStepMarkers checks a recording of the whole seed playbook run once
// with c: a marker at each step's start, in the playbook's order, labelled
// with its ID and title, and the last one the verdict.
func checkStepMarkers(t *testing.T, marks []string) {
	t.Helper()
	var want []string
	for _, s := range steps.Playbook(&steps.Env{}) {
		want = append(want, "step "+s.ID+" · "+s.Title)
	}
	var got []string
	for _, m := range marks {
		if strings.HasPrefix(m, "step ") {
			got = append(got, m)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("step markers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(marks) == 0 || !strings.HasPrefix(marks[len(marks)-1], "verdict: DIVERGED · the replica replayed timeline 1") {
		t.Errorf("the last marker is not the verdict: %q", marks)
	}
}
