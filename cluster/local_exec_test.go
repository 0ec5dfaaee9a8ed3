package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestTailFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	check := func(what string, got []string, err error, want []string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !slices.Equal(got, want) {
			if len(got) > 6 || len(want) > 6 {
				t.Fatalf("%s: got %d lines (first %.40q), want %d (first %.40q)", what, len(got), localFirst(got), len(want), localFirst(want))
			}
			t.Fatalf("%s: got %q, want %q", what, got, want)
		}
	}

	got, err := TailFile(filepath.Join(dir, "missing"), 10)
	check("missing file", got, err, nil)
	got, err = TailFile(write("empty", ""), 10)
	check("empty file", got, err, nil)
	got, err = TailFile(write("nonl", "a\nb\nc"), 10)
	check("no trailing newline", got, err, []string{"a", "b", "c"})
	got, err = TailFile(write("nonl2", "a\nb\nc"), 2)
	check("no trailing newline, n=2", got, err, []string{"b", "c"})
	got, err = TailFile(write("more", "1\n2\n3\n4\n5\n"), 3)
	check("more lines than n", got, err, []string{"3", "4", "5"})
	got, err = TailFile(write("fewer", "1\n2\n"), 30)
	check("fewer lines than n", got, err, []string{"1", "2"})
	if _, err := TailFile(dir, 3); err == nil {
		t.Fatal("TailFile of a directory: no error")
	}

	// Files larger than one 64 KiB chunk: lines cross chunk boundaries.
	for _, lineLen := range []int{1, 99, 100, 4095, 70000} {
		var all []string
		var b strings.Builder
		for i := 0; b.Len() < 200<<10; i++ {
			l := fmt.Sprintf("%07d", i)
			l += strings.Repeat("x", max(0, lineLen-len(l)))
			all = append(all, l)
			b.WriteString(l + "\n")
		}
		for _, trailing := range []bool{true, false} {
			content := b.String()
			if !trailing {
				content = strings.TrimSuffix(content, "\n")
			}
			p := write(fmt.Sprintf("big-%d-%v", lineLen, trailing), content)
			perChunk := (64 << 10) / (lineLen + 1)
			for _, n := range []int{1, 2, perChunk - 1, perChunk, perChunk + 1, perChunk + 2, 2*perChunk + 1, len(all) - 1, len(all), len(all) + 5} {
				if n < 1 {
					continue
				}
				got, err := TailFile(p, n)
				want := all[max(0, len(all)-n):]
				check(fmt.Sprintf("%d-byte lines, trailing newline %v, n=%d", lineLen, trailing, n), got, err, want)
			}
		}
	}
}

func localFirst(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// Exec takes PostgreSQL programs from --pg-bin even when walstep's own PATH
// does not lead to them.
func TestLocalExecUsesPGBin(t *testing.T) {
	_, l := localLab(t)
	ctx := localCtx(t)
	t.Setenv("PATH", "/usr/bin:/bin")
	for _, prog := range []string{"pg_controldata", "psql", "pg_basebackup"} {
		var out bytes.Buffer
		if err := l.Exec(ctx, Primary, "postgres", []string{prog, "-V"}, &out); err != nil {
			t.Fatalf("Exec %s -V: %v\n%s", prog, err, out.String())
		}
		if !strings.Contains(out.String(), "(PostgreSQL)") {
			t.Fatalf("%s -V said %q", prog, out.String())
		}
	}
	// Other programs still come from PATH.
	var out bytes.Buffer
	if err := l.Exec(ctx, Primary, "root", []string{"true"}, &out); err != nil {
		t.Fatalf("Exec true: %v", err)
	}
	if err := l.Exec(ctx, Primary, "root", []string{"no-such-program-walstep"}, &out); err == nil {
		t.Fatal("Exec of a missing program succeeded")
	}
}

// Cancelling an Exec (a step cancelled, Ctrl-C) kills the whole process
// tree promptly: nothing it started is left running.
func TestLocalExecCancelKillsTree(t *testing.T) {
	lab, l := localLab(t)
	pidFile := lab.Path(RunDir, "exec.pid")
	if err := l.prepareDirs(lab.Path(RunDir)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(localCtx(t))
	done := make(chan error, 1)
	go func() { // joined below through done
		done <- l.Exec(ctx, Primary, "postgres", []string{"sh", "-c", `echo $$ > "$1"; sleep 300 & sleep 300`, "sh", pidFile}, &bytes.Buffer{})
	}()
	var pgid int
	err := Until(localCtx(t), localWait, "the command to start", func(context.Context) (bool, error) {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return false, nil
		}
		pgid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil, nil
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if len(localProcs("", pgid)) < 2 {
		t.Fatalf("expected sh and its sleeps in group %d: %q", pgid, localProcs("", pgid))
	}
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "context canceled") {
			t.Fatalf("cancelled Exec returned %v", err)
		}
	case <-time.After(localWait):
		t.Fatal("Exec did not return after its ctx was cancelled")
	}
	localNoProcs(t, localCtx(t), "", pgid)
}

// A command that daemonises (background jobs, setsid, nohup, a double
// fork, one ignoring SIGTERM, one keeping the output open) ends as soon
// as its shell does, and nothing it started runs once Exec has returned.
func TestLocalExecEndsWhatItLeaves(t *testing.T) {
	lab, l := localLab(t)
	if err := l.prepareDirs(lab.Path(RunDir)); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"background job keeping stdout": `sleep 300 & echo $! >> "$1"`,
		"setsid":                        `setsid sleep 300 & echo $! >> "$1"`,
		"nohup":                         `nohup sleep 300 >/dev/null 2>&1 & echo $! >> "$1"`,
		"double fork in a new session":  `setsid sh -c 'sleep 300 & echo $! >> "$1"' sh "$1" >/dev/null 2>&1 & echo $! >> "$1"`,
		"ignores SIGTERM":               `sh -c 'trap "" TERM; echo $$ >> "$1"; while :; do sleep 1; done' sh "$1" &`,
		"clears its environment too":    `env -i setsid sleep 300 >/dev/null 2>&1 & echo $! >> "$1"`,
	}
	for name, script := range cases {
		t.Run(name, func(t *testing.T) {
			pidFile := lab.Path(RunDir, "pids")
			_ = os.Remove(pidFile)
			// Whatever happens, the test ends the processes it made.
			pids := func() []int {
				b, _ := os.ReadFile(pidFile)
				var ps []int
				for _, f := range strings.Fields(string(b)) {
					if pid, _ := strconv.Atoi(f); pid > 0 {
						ps = append(ps, pid)
					}
				}
				return ps
			}
			t.Cleanup(func() {
				for _, pid := range pids() {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			var out bytes.Buffer
			begin := time.Now()
			// The shell writes every pid before it exits.
			err := l.Exec(localCtx(t), Primary, "postgres", []string{"sh", "-c", script + "\nsleep 0.2; echo shell done", "sh", pidFile}, &out)
			took := time.Since(begin)
			t.Logf("%s: Exec returned after %s", name, took.Round(time.Millisecond))
			if err != nil {
				t.Errorf("Exec: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "shell done") || !strings.Contains(out.String(), "it left running: ") {
				t.Errorf("output does not say what was ended:\n%s", out.String())
			}
			if len(pids()) == 0 {
				t.Fatal("the script wrote no pid")
			}
			for _, pid := range pids() {
				if processAlive(pid) {
					t.Errorf("pid %d still runs after Exec returned", pid)
				}
			}
		})
	}
}

// A server a command restarts on the lab's data dir (pg_ctl restart in a
// hook) is not one of the processes it left: it keeps running (its pid
// file names it, pg_ctl -w saw it accept), and Close stops it.
func TestLocalExecKeepsARestartedServer(t *testing.T) {
	_, l := localLab(t)
	ctx := localCtx(t)
	localStarted(t, ctx, l, Primary)
	var out bytes.Buffer
	err := l.Exec(ctx, Primary, "postgres", []string{"sh", "-c", `pg_ctl -D "$PGDATA" -l "$1" -w restart`, "sh", l.homeDir + "/restart.log"}, &out)
	if err != nil {
		t.Fatalf("pg_ctl restart: %v\n%s", err, out.String())
	}
	pid := PostmasterPID(l.DataDir(Primary))
	if pid == 0 {
		t.Fatalf("no server runs after the restart:\n%s", out.String())
	}
	if err := l.Close(ctx, true); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if processAlive(pid) {
		t.Fatalf("the restarted server (pid %d) outlived Close", pid)
	}
}
