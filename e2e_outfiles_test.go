package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runMainWithin runs walstep in-process and fails the test when it has
// not returned in time (a FIFO opened for writing blocks for good).
func runMainWithin(t *testing.T, d time.Duration, args ...string) (int, string) {
	t.Helper()
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errs := runMain(args...)
		done <- result{code, out, errs}
	}()
	select {
	case r := <-done:
		return r.code, r.out + r.err
	case <-time.After(d):
		t.Fatalf("walstep %v: no answer after %s", args, d)
		return 0, ""
	}
}

// The files a user names are new or, with --force, a new file in a
// regular file's place: never a FIFO (which would block), never through
// a link, always 0600.
func TestOutputFilesFIFOLinkAndForce(t *testing.T) {
	skipWithoutPostgres(t)
	dir := reachableTempDir(t)
	lab := filepath.Join(dir, "lab")
	initLabWith(t, lab, "hooks/after-0.primary.sh", "exit 3\n")
	base := []string{"run", "--lab", lab, "--backend", "local", "--archiver", "cp"}

	fifo := filepath.Join(dir, "fifo.md")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("root only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.md")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"--transcript", "--markdown"} {
		for _, p := range []string{fifo, link} {
			for _, force := range [][]string{nil, {"--force"}} {
				args := append(append(append([]string{}, base...), flag, p), force...)
				code, out := runMainWithin(t, 2*time.Minute, args...)
				if code == 0 || strings.Contains(out, "written to") {
					t.Errorf("%s %s %v: exit %d, want a refusal:\n%s", flag, p, force, code, out)
				}
				if !strings.Contains(out, p) {
					t.Errorf("%s %s %v: the refusal does not name the file:\n%s", flag, p, force, out)
				}
			}
		}
	}
	if b, _ := os.ReadFile(secret); string(b) != "root only\n" {
		t.Errorf("a link's target was written: %q", b)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced")
	}

	// --force on a 0644 file (with another hard link to it) makes a new
	// file, 0600; the other link keeps the old bytes.
	for _, flag := range []string{"--transcript", "--markdown"} {
		old := filepath.Join(dir, "old"+strings.TrimPrefix(flag, "--")+".md")
		other := old + ".other"
		if err := os.WriteFile(old, []byte("my notes\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(old, other); err != nil {
			t.Fatal(err)
		}
		code, out := runMainWithin(t, 2*time.Minute, append(append([]string{}, base...), flag, old, "--force")...)
		if !strings.Contains(out, "written to "+old) {
			t.Errorf("%s EXISTING --force: exit %d, not written:\n%s", flag, code, out)
		}
		st, err := os.Stat(old)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s EXISTING --force: mode %v, want 0600", flag, st.Mode().Perm())
		}
		if b, _ := os.ReadFile(other); string(b) != "my notes\n" {
			t.Errorf("%s EXISTING --force wrote into the old file (its other link now holds %q…)", flag, firstLines(string(b), 1))
		}
	}
}

// A transcript cut short by a full disk fails the run (exit 1) with one
// line, though every step ran.
func TestOutputFileFullDiskFailsTheRun(t *testing.T) {
	skipWithoutPostgres(t)
	dir := reachableTempDir(t)
	disk := filepath.Join(dir, "disk")
	if err := os.Mkdir(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", disk).Run() })
	lab := filepath.Join(dir, "lab")
	t.Cleanup(func() { runMain("clean", "--lab", lab) })
	// 200 lines of 200 bytes: 40 kB of step output for the transcript.
	initLabWith(t, lab, "hooks/after-0.primary.sh", "for i in $(seq 200); do printf '%0200d\\n' $i; done\n", "primary_restore.conf", noTarget)
	tr := filepath.Join(disk, "t.md")
	code, stdout, stderr := runMain("run", "--lab", lab, "--backend", "local", "--archiver", "cp", "--transcript", tr)
	if code != 1 {
		t.Errorf("a transcript cut by a full disk: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	var said []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "no space left on device") {
			said = append(said, l)
		}
	}
	if len(said) != 1 || !strings.HasPrefix(said[0], "walstep: transcript: ") || strings.Contains(stdout+stderr, "transcript written") {
		t.Errorf("want one line saying the transcript is short, got:\n%s", stderr)
	}
	t.Logf("%s", said)
}
