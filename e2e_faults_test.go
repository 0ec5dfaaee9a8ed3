package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// oneLineError asserts stderr is a single clear "walstep: ..." line that
// contains want and no stack trace.
func oneLineError(t *testing.T, stderr, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "walstep: ") || !strings.Contains(last, want) {
		t.Errorf("want a one-line error containing %q, got:\n%s", want, stderr)
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic:") {
		t.Errorf("stack trace on stderr:\n%s", stderr)
	}
}

func runMain(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := realMain(args, &out, &errb)
	return code, out.String(), errb.String()
}

// A mistyped flag is one line that says where to look, with the usage
// exit status 2, not the error followed by every flag; -h still lists them.
func TestFaultBadFlagIsOneLine(t *testing.T) {
	for _, args := range [][]string{{"run", "--bogus"}, {"run", "--lab"}, {"--bogus"}, {"init", "-x"}, {"clean", "--poll=zz"}} {
		code, stdout, stderr := runMain(args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 || stdout != "" {
			t.Errorf("%v: want one line on stderr, got stdout %q stderr:\n%s", args, stdout, stderr)
		}
		oneLineError(t, stderr, " -h)")
	}
	code, _, stderr := runMain("run", "-h")
	if code != 0 || !strings.Contains(stderr, "-keep-running") {
		t.Errorf("run -h: exit %d, want 0 and the flags:\n%s", code, stderr)
	}
}

func TestFaultMissingPGBinaries(t *testing.T) {
	lab := filepath.Join(reachableTempDir(t), "lab")
	code, _, stderr := runMain("run", "--lab", lab, "--backend", "local", "--pg-bin", "/nonexistent/bin")
	if code == 0 {
		t.Fatal("run succeeded without PostgreSQL binaries")
	}
	oneLineError(t, stderr, "--pg-bin /nonexistent/bin has no postgres binary")
}

func TestFaultDockerAbsent(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	lab := filepath.Join(reachableTempDir(t), "lab")
	code, _, stderr := runMain("run", "--lab", lab, "--backend", "docker")
	if code == 0 {
		t.Fatal("run succeeded without a Docker engine")
	}
	oneLineError(t, stderr, "docker")
	if !strings.Contains(stderr, "--backend local") && !strings.Contains(stderr, "start dockerd") {
		t.Errorf("error does not say what to do: %s", stderr)
	}
}

func TestFaultAutoFallsBackToLocalWithoutDocker(t *testing.T) {
	skipWithoutPostgres(t)
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	lab := filepath.Join(reachableTempDir(t), "lab")
	// --wait keeps it short if something hangs; the run itself is the test.
	code, stdout, stderr := runMain("run", "--lab", lab, "--backend", "auto", "--archiver", "cp")
	if code != 0 {
		t.Fatalf("auto run failed (%d): %s", code, stderr)
	}
	if !strings.Contains(stdout, "local backend") || !strings.Contains(stdout, "docker not used") {
		t.Errorf("auto does not say it picked local and why:\n%s", firstLines(stdout, 3))
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

func TestFaultLabFromAnotherVersion(t *testing.T) {
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab, ".walstep-lab", `{"tool":"walstep","version":99}`)
	code, _, stderr := runMain("run", "--lab", lab, "--backend", "local")
	if code == 0 {
		t.Fatal("run accepted a lab of another version")
	}
	oneLineError(t, stderr, "lab version 99")
}

func TestFaultNotALab(t *testing.T) {
	dir := reachableTempDir(t)
	if err := os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runMain("run", "--lab", dir, "--backend", "local")
	if code == 0 {
		t.Fatal("run used a non-empty directory walstep did not make")
	}
	oneLineError(t, stderr, "not made by walstep")
	code, _, stderr = runMain("clean", "--lab", dir)
	if code == 0 {
		t.Fatal("clean accepted a directory without the marker")
	}
	oneLineError(t, stderr, "marker")
	if _, err := os.Stat(filepath.Join(dir, "precious.txt")); err != nil {
		t.Errorf("file in a non-lab dir touched: %v", err)
	}
}

func TestFaultConfSyntaxError(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab, "primary_restore.conf", "recovery_target = 'immediate\n")
	code, stdout, stderr := runMain("run", "--lab", lab, "--backend", "local", "--archiver", "cp", "--wait", "20s")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a step failed); stderr %s", code, stderr)
	}
	if !strings.Contains(stdout, "12   Start both servers at once: failed") {
		t.Errorf("step 12 should fail:\n%s", stdout)
	}
	if !strings.Contains(stdout, "syntax error") {
		t.Errorf("the failure should quote the server's syntax error:\n%s", stdout)
	}
	if strings.Contains(stdout+stderr, "goroutine ") {
		t.Errorf("stack trace in output")
	}
	if left := postgresOf(t, lab); len(left) > 0 {
		t.Errorf("postgres left running: %v", left)
	}
}

// recovery_target_action = 'pause' leaves the primary paused in recovery:
// step 12 fails at once saying so, instead of waiting out --wait for a
// promotion that cannot come.
func TestFaultPrimaryPausesAtTarget(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab, "primary_restore.conf", "recovery_target = 'immediate'\nrecovery_target_action = 'pause'\n")
	start := time.Now()
	code, stdout, stderr := runMain("run", "--lab", lab, "--backend", "local", "--archiver", "cp", "--wait", "60s")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a step failed); stderr %s", code, stderr)
	}
	if d := time.Since(start); d > 40*time.Second {
		t.Errorf("run took %s: step 12 waited out --wait for a paused primary", d.Round(time.Second))
	}
	if !strings.Contains(stdout, "12   Start both servers at once: failed") || !strings.Contains(stdout, "paused") || !strings.Contains(stdout, "pg_wal_replay_resume()") {
		t.Errorf("step 12 should fail saying the primary is paused and how to resume it:\n%s", stdout)
	}
	if left := postgresOf(t, lab); len(left) > 0 {
		t.Errorf("postgres left running: %v", left)
	}
}

func TestFaultMissingConfFile(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab)
	if err := os.Remove(filepath.Join(lab, "replica_restore.conf")); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runMain("run", "--lab", lab, "--backend", "local", "--archiver", "cp")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stdout, "read lab file replica_restore.conf") || !strings.Contains(stdout, "walstep init") {
		t.Errorf("step 8 should fail saying which file and what to do:\n%s", stdout)
	}
}

// buildWalstep builds the binary once per test binary run.
func buildWalstep(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(reachableTempDir(t), "walstep")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// signalAt runs the walstep binary with args, sends SIGTERM when a progress
// line contains marker, checks it then exits non-zero without a stack
// trace, and returns all it printed (stdout, then stderr).
func signalAt(t *testing.T, bin string, args []string, marker string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var seen []string
	signalled := false
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if !signalled && strings.Contains(sc.Text(), marker) {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			signalled = true
		}
	}
	err = cmd.Wait()
	if !signalled {
		t.Fatalf("never saw %q:\n%s\n%s", marker, strings.Join(seen, "\n"), errb.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Errorf("exit: %v, want a non-zero status after SIGTERM", err)
	}
	all := strings.Join(seen, "\n") + errb.String()
	if strings.Contains(all, "goroutine ") || strings.Contains(all, "panic:") {
		t.Errorf("stack trace:\n%s", all)
	}
	return strings.Join(seen, "\n") + "\n" + errb.String()
}

// TestSignalDuringSteps sends SIGTERM to `walstep run` while it is in the
// middle of each kind of step and checks it exits without leaving postgres
// behind or printing a stack trace.
func TestSignalDuringSteps(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	bin := buildWalstep(t)
	for _, tc := range []struct{ name, marker string }{
		{"server starting", "3    Start the primary ..."},
		{"backup running", "4d   Take the base backup ..."},
		{"both starting", "12   Start both servers at once ..."},
		{"standby outcome", "F6   Start the replica as a streaming standby ..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab := filepath.Join(reachableTempDir(t), "lab")
			signalAt(t, bin, []string{"run", "--lab", lab, "--backend", "local", "--archiver", "cp"}, tc.marker)
			if left := postgresOf(t, lab); len(left) > 0 {
				t.Errorf("postgres left after SIGTERM: %v", left)
			}
			if _, err := os.Stat(filepath.Join(lab, "wal-g-storage", "basebackups_005", ".incoming")); err == nil {
				t.Errorf("a half-written backup was left in the archive")
			}
		})
	}
}

func TestKeepRunningThenClean(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	code, stdout, stderr := runMain("run", "--lab", lab, "--backend", "local", "--archiver", "cp", "--keep-running")
	if code != 0 {
		t.Fatalf("run: %d %s", code, stderr)
	}
	t.Cleanup(func() { runMain("clean", "--lab", lab) })
	if !strings.Contains(stdout, "servers left running") {
		t.Errorf("run does not say the servers were kept:\n%s", stdout)
	}
	if left := postgresOf(t, lab); len(left) < 2 {
		t.Fatalf("--keep-running should leave both servers up, found %v", left)
	}
	code, _, stderr = runMain("clean", "--lab", lab)
	if code != 0 {
		t.Fatalf("clean: %s", stderr)
	}
	if left := postgresOf(t, lab); len(left) > 0 {
		t.Errorf("postgres left after clean: %v", left)
	}
	for _, gone := range []string{"primary-data", "replica-data", "wal-g-storage"} {
		if _, err := os.Stat(filepath.Join(lab, gone)); !os.IsNotExist(err) {
			t.Errorf("%s still there after clean", gone)
		}
	}
	if _, err := os.Stat(filepath.Join(lab, "primary_restore.conf")); err != nil {
		t.Errorf("clean removed an editable file: %v", err)
	}
}

// The "stop them with" hint is a command that works as printed: from
// another directory than a relative --lab was given in, and with a lab path
// that holds a space.
func TestKeepRunningHintIsACommand(t *testing.T) {
	skipWithoutPostgres(t) // not parallel: it changes directory
	base := reachableTempDir(t)
	if err := os.MkdirAll(filepath.Join(base, "my labs"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(base)
	lab := filepath.Join("my labs", "lab")
	if _, stdout, _ := runMain("init", lab); !strings.Contains(stdout, `walstep --lab 'my labs/lab'`) {
		t.Errorf("init's hint does not quote the lab path:\n%s", stdout)
	}
	code, stdout, stderr := runMain("run", "--lab", lab, "--backend", "local", "--archiver", "cp", "--keep-running")
	if code != 0 {
		t.Fatalf("run: %d %s", code, stderr)
	}
	t.Cleanup(func() { runMain("clean", "--lab", filepath.Join(base, lab)) })
	_, hint, ok := strings.Cut(stdout, "stop them with: walstep ")
	if !ok {
		t.Fatalf("no hint in:\n%s", stdout)
	}
	hint, _, _ = strings.Cut(hint, "\n")
	t.Chdir(t.TempDir())
	// Split the hint as a shell would.
	words, err := exec.Command("sh", "-c", "for w in "+hint+`; do printf '%s\n' "$w"; done`).Output()
	if err != nil {
		t.Fatalf("hint %q is not a shell command: %v", hint, err)
	}
	args := strings.Split(strings.TrimRight(string(words), "\n"), "\n")
	if code, _, stderr := runMain(args...); code != 0 {
		t.Fatalf("the hint %q failed: %s", hint, stderr)
	}
	if left := postgresOf(t, filepath.Join(base, lab)); len(left) > 0 {
		t.Errorf("postgres left after the hint's clean: %v", left)
	}
}
