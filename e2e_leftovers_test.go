package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"walstep/cluster"
)

// leavingHook leaves processes behind (in a new session, under nohup, a
// background job) and waits; it appends its shell's pid and theirs to
// run/home/hook-pids.
const leavingHook = `f="$HOME/hook-pids"
echo $$ >> "$f"
setsid sleep 300 & echo $! >> "$f"
nohup sleep 300 >/dev/null 2>&1 & echo $! >> "$f"
sleep 300 & echo $! >> "$f"
wait
`

// hookRunning waits until the lab's after-3 hook has written its four
// pids and returns them with the primary's postmaster; the test's cleanup
// kills whichever still run, so a failure leaves nothing behind.
func hookRunning(t *testing.T, lab string, within time.Duration) []int {
	t.Helper()
	var pids []int
	t.Cleanup(func() {
		for _, pid := range pids {
			if pidRuns(pid) {
				_ = syscall.Kill(pid, syscall.SIGQUIT) // a postmaster's immediate shutdown
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	deadline := time.Now().Add(within)
	for {
		b, _ := os.ReadFile(filepath.Join(lab, "run", "home", "hook-pids"))
		pids = pids[:0]
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		if pm := cluster.PostmasterPID(filepath.Join(lab, "primary-data")); len(pids) == 4 && pm > 0 {
			pids = append(pids, pm)
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hook did not write its pids within %s: %v", within, pids)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pidRuns reports whether pid runs (a zombie does not).
func pidRuns(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || len(s) < i+3 || s[i+2] != 'Z'
}

// pidStopped reports whether pid is stopped (SIGSTOP).
func pidStopped(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && s[i+2] == 'T'
}

// noneRuns fails the test for each of pids that still runs.
func noneRuns(t *testing.T, what string, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if pidRuns(pid) {
			cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			t.Errorf("%s: pid %d (%s) still runs", what, pid, strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
}

// SIGHUP to `walstep run` (its terminal closed) ends it as SIGTERM does:
// exit status 130, the servers stopped, nothing a hook started left.
func TestHangupEndsARun(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	bin := buildWalstep(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab, "hooks/after-3.primary.sh", leavingHook)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--lab", lab, "--backend", "local", "--archiver", "cp")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out []string
	read := make(chan struct{})
	go func() { // joined through read
		defer close(read)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out = append(out, sc.Text())
		}
	}()
	pids := hookRunning(t, lab, 2*time.Minute)
	_ = cmd.Process.Signal(syscall.SIGHUP)
	<-read
	err = cmd.Wait()
	all := strings.Join(out, "\n") + "\n" + errb.String()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("exit after SIGHUP: %v, want status 130 as after SIGTERM\n%s", err, all)
	}
	if !strings.Contains(all, "interrupted") {
		t.Errorf("the report does not say the run was interrupted:\n%s", all)
	}
	noneRuns(t, "after SIGHUP to walstep run (hook shell, its 3 children, the primary)", pids)
}

// SIGHUP to the debugger (its tmux session killed) ends it the same way:
// the servers stopped, nothing a hook started left.
func TestHangupEndsTheDebugger(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	bin := buildWalstep(t)
	work := reachableTempDir(t)
	lab := filepath.Join(work, "lab")
	initLabWith(t, lab, "hooks/after-3.primary.sh", leavingHook)
	p := startInTmux(t, 120, 40, fmt.Sprintf("env TERM=xterm-256color %s --lab %s --backend local --archiver cp 2>%s", bin, lab, filepath.Join(work, "stderr")))
	p.waitFor(time.Minute, "Start the primary")
	walstep := p.pid()
	p.keys("c")
	pids := hookRunning(t, lab, 2*time.Minute)
	p.tm("kill-server")
	deadline := time.Now().Add(time.Minute)
	for pidRuns(walstep) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(walstep, syscall.SIGKILL)
			t.Fatal("walstep still runs a minute after its tmux session was killed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	stderr, _ := os.ReadFile(filepath.Join(work, "stderr"))
	if strings.Contains(string(stderr), "goroutine ") || strings.Contains(string(stderr), "panic:") {
		t.Errorf("stack trace:\n%s", stderr)
	}
	noneRuns(t, "after the debugger's tmux session was killed (hook shell, its 3 children, the primary)", pids)
}

// `clean --force` on a lab whose holder is stopped (SIGSTOP) says what it
// does, continues and ends the holder within its bound, and leaves neither
// the holder's servers nor its hook's processes.
func TestCleanForceEndsAStoppedHolder(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	bin := buildWalstep(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab, "hooks/after-3.primary.sh", leavingHook)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	holder := exec.CommandContext(ctx, bin, "run", "--lab", lab, "--backend", "local", "--archiver", "cp")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- holder.Wait() }() // joined below
	pids := hookRunning(t, lab, 2*time.Minute)
	if err := holder.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !pidStopped(holder.Process.Pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the holder did not stop on SIGSTOP")
		}
	}
	begin := time.Now()
	code, stdout, stderr := runMain("clean", "--force", "--lab", lab)
	took := time.Since(begin)
	t.Logf("clean --force took %s:\n%s%s", took.Round(time.Millisecond), stdout, stderr)
	if code != 0 {
		t.Errorf("clean --force: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, fmt.Sprintf("walstep pid %d (run ", holder.Process.Pid)) || !strings.Contains(stdout, "is stopped (SIGSTOP): continuing it") {
		t.Errorf("clean --force does not say what it does with the stopped holder:\n%s", stdout)
	}
	if took > 20*time.Second {
		t.Errorf("clean --force took %s", took)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = holder.Process.Kill()
		t.Fatal("the holder still runs after clean --force")
	}
	noneRuns(t, "after clean --force (hook shell, its 3 children, the primary)", pids)
}
