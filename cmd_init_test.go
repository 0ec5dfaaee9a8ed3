package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// init refuses a lab inside another lab's generated dirs (the outer lab's
// reset would delete it), and clean of the outer lab never deletes one
// that got there anyway; a newline in the lab path is refused before
// anything is made.
func TestInitRefusesALabInsideALab(t *testing.T) {
	dir := t.TempDir()
	outer := filepath.Join(dir, "outer")
	if code, _, stderr := runMain("init", outer); code != 0 {
		t.Fatalf("init outer: %s", stderr)
	}
	if err := os.MkdirAll(filepath.Join(outer, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	inner := filepath.Join(outer, "logs", "inner")
	code, _, stderr := runMain("init", inner)
	if code == 0 || !strings.Contains(stderr, "inside the lab "+outer) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("init inside a lab's logs/: exit %d, stderr %q", code, stderr)
	}
	// One made there by hand (a copy, an older walstep) survives the
	// outer lab's clean, which says why it stopped.
	if err := os.MkdirAll(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{".walstep-lab": `{"tool":"walstep","version":1}`, "primary_restore.conf": "mine\n"} {
		if err := os.WriteFile(filepath.Join(inner, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, _, stderr = runMain("clean", "--lab", outer, "--backend", "local")
	if code == 0 || !strings.Contains(stderr, "holds the lab "+inner) {
		t.Errorf("clean of the outer lab: exit %d, stderr %q", code, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(inner, "primary_restore.conf")); err != nil || string(b) != "mine\n" {
		t.Errorf("the inner lab's conf: %q %v", b, err)
	}
	nl := filepath.Join(dir, "new\nline")
	code, _, stderr = runMain("init", nl)
	if code == 0 || !strings.Contains(stderr, "control character") {
		t.Errorf("init with a newline in the path: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Lstat(nl); err == nil {
		t.Error("init made the directory with a newline")
	}
}

// init's hint names the files the playbook's steps read: the seed's confs
// for the seed, not for a playbook that copies none of them.
func TestInitNamesThePlaybooksFiles(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runMain("init", filepath.Join(dir, "seed"))
	if code != 0 || !strings.Contains(stdout, "edit playbook.md, wal-g.json, primary_restore.conf, replica_restore.conf or replica_standby.conf, then:") {
		t.Errorf("init of the seed: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, stderr = runMain("init", "--playbook", "double-promotion", filepath.Join(dir, "dp"))
	if code != 0 || strings.Contains(stdout, "primary_restore.conf") || !strings.Contains(stdout, "edit playbook.md") {
		t.Errorf("init of double-promotion: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
