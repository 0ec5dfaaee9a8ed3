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
