package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"walstep/headless"
)

// Values that parse but cannot be meant are one line at parse time (exit
// 2), and no lab is made for them.
func TestFlagsCheckedAtParseTime(t *testing.T) {
	dir := t.TempDir()
	lab := filepath.Join(dir, "new-lab")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--wait", "0"}, "--wait 0s: use a positive duration"},
		{[]string{"run", "--wait", "-5s"}, "--wait -5s: use a positive duration"},
		{[]string{"run", "--poll", "0"}, "--poll 0s: use a positive duration"},
		{[]string{"run", "--poll", "1ns"}, "--poll 1ns is too short"},
		{[]string{"run", "--hook-timeout", "0"}, "--hook-timeout 0s"},
		{[]string{"run", "--stall-after", "-1s"}, "--stall-after -1s"},
		{[]string{"run", "--lab", ""}, "--lab is empty"},
		{[]string{"clean", "--lab", " "}, "--lab is empty"},
		{[]string{"run", "--repeat", "0"}, "--repeat 0: use 1 or more"},
		{[]string{"run", "--repeat", "2", "--transcript", filepath.Join(dir, "t.md")}, "--transcript records one run"},
		{[]string{"run", "--backend", "nosuch"}, `unknown --backend "nosuch"`},
		{[]string{"run", "--archiver", "tar"}, `unknown --archiver "tar"`},
	} {
		args := append(c.args, "--lab", lab)
		if c.args[len(c.args)-2] == "--lab" || c.args[1] == "--lab" {
			args = c.args
		}
		code, _, stderr := runMain(args...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2 (%s)", c.args, code, stderr)
		}
		oneLineError(t, stderr, c.want)
		if strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%q: more than one line:\n%s", c.args, stderr)
		}
		if _, err := os.Stat(lab); err == nil {
			t.Fatalf("%q made the lab %s", c.args, lab)
		}
	}
}

// A user's own empty directory keeps its mode when it becomes a lab.
func TestInitKeepsAPrivateDirPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runMain("init", dir); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	st, _ := os.Stat(dir)
	if st.Mode().Perm() != 0o700 {
		t.Errorf("an empty 0700 dir became %v", st.Mode().Perm())
	}
}

// An interrupted run's report says so instead of giving a verdict.
func TestInterruptedReportSaysSo(t *testing.T) {
	var b bytes.Buffer
	rep := headless.Report{Lab: "/lab", Interrupted: true}
	headless.WriteText(&b, rep)
	if !strings.Contains(b.String(), "interrupted: the run was stopped before its end") || headless.Verdict(rep) != headless.VerdictInterrupted {
		t.Errorf("report of an interrupted run:\n%s\nverdict %s", b.String(), headless.Verdict(rep))
	}
}

// A session that cannot open (no Docker engine) leaves no lab behind when
// it made the lab itself.
func TestFailedOpenLeavesNoNewLab(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent.sock")
	lab := filepath.Join(t.TempDir(), "new-lab")
	code, _, stderr := runMain("run", "--lab", lab, "--backend", "docker")
	if code == 0 {
		t.Fatal("run without an engine succeeded")
	}
	oneLineError(t, stderr, "docker")
	if _, err := os.Stat(lab); !os.IsNotExist(err) {
		t.Errorf("the lab made for a session that did not open is still there: %v", err)
	}
}

// Every usage error exits 2 with one line, before anything runs: a value
// that parses but cannot be meant (--expect bogus, an empty --prefix), a
// stray argument, a bad count.
func TestUsageErrorsExit2(t *testing.T) {
	lab := filepath.Join(t.TempDir(), "lab")
	for _, args := range [][]string{
		{"run", "--lab", lab, "--expect", "bogus"},
		{"run", "--lab", lab, "--prefix", ""},
		{"run", "--lab", lab, "--prefix", "bad/prefix"},
		{"explore", "--lab", lab, "--prefix", ""},
		{"clean", "--lab", lab, "--prefix", ""},
		{"run", "--lab", lab, "--repeat", "0"},
		{"run", "--lab", lab, "stray"},
		{"explore", "--lab", lab, "--jobs", "0"},
		{"--lab", lab, "stray"},
		{"export", "--lab", lab, "--tap", "t.pl", "--expect", "stalled"},
		{"export", "--lab", lab, "--expect", "diverged"},
		{"export", "--lab", lab, "--tap", "t.pl"},
		{"export", "--lab", lab, "--tap", "t.pl", "--expect", "diverged", "stray"},
	} {
		code, stdout, stderr := runMain(args...)
		if code != 2 || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.HasPrefix(stderr, "walstep: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and one line", args, code, stdout, stderr)
		}
	}
	if _, err := os.Lstat(lab); err == nil {
		t.Error("a usage error made the lab")
	}
}
