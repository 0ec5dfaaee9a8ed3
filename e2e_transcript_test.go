package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A transcript path the run would delete, or one of the lab's own files,
// is refused before anything runs; an existing file is never truncated
// without --force; "written" is said only of a transcript that is there.
func TestTranscriptPaths(t *testing.T) {
	skipWithoutPostgres(t)
	dir := reachableTempDir(t)
	lab := filepath.Join(dir, "lab")
	// The run stops at once: a hook after step 0 that fails (and, when
	// asked, removes the transcript first).
	initLabWith(t, lab, "hooks/after-0.primary.sh", "[ -n \"$(ls /tmp/walstep-rm-me 2>/dev/null)\" ] && rm -f \"$(cat /tmp/walstep-rm-me)\"; exit 3\n")
	conf, _ := os.ReadFile(filepath.Join(lab, "primary_restore.conf"))
	run := func(args ...string) (int, string) {
		code, stdout, stderr := runMain(append([]string{"run", "--lab", lab, "--backend", "local", "--archiver", "cp"}, args...)...)
		return code, stdout + stderr
	}
	for _, c := range []struct{ path, want string }{
		{filepath.Join(lab, "primary-data", "t.md"), "which each run deletes"},
		{filepath.Join(lab, "logs", "t.md"), "which each run deletes"},
		{filepath.Join(lab, "primary_restore.conf"), "would replace the lab's own primary_restore.conf"},
		{filepath.Join(lab, "hooks", "after-1.primary.sh"), "would replace the lab's own hooks"},
	} {
		code, out := run("--transcript", c.path, "--force")
		if code == 0 || !strings.Contains(out, c.want) || strings.Contains(out, "transcript written") {
			t.Errorf("--transcript %s: exit %d, want a refusal with %q:\n%s", c.path, code, c.want, out)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(lab, "primary_restore.conf")); string(b) != string(conf) {
		t.Errorf("primary_restore.conf changed: %q", b)
	}

	mine := filepath.Join(dir, "notes.md")
	if err := os.WriteFile(mine, []byte("my notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := run("--transcript", mine)
	if code == 0 || !strings.Contains(out, "exists: pass --force") {
		t.Errorf("existing file without --force: exit %d:\n%s", code, out)
	}
	if b, _ := os.ReadFile(mine); string(b) != "my notes\n" {
		t.Fatalf("an existing file was truncated: %q", b)
	}
	_, out = run("--transcript", mine, "--force")
	b, _ := os.ReadFile(mine)
	if !strings.HasPrefix(string(b), "# walstep transcript") || !strings.Contains(out, "transcript written to "+mine) {
		t.Errorf("--force: file %q…, output:\n%s", firstLines(string(b), 1), out)
	}

	// A transcript removed while the run writes it is not "written".
	shared := filepath.Join(dir, "shared")
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(shared, "gone.md")
	if err := os.WriteFile("/tmp/walstep-rm-me", []byte(gone), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove("/tmp/walstep-rm-me")
	_, out = run("--transcript", gone)
	if strings.Contains(out, "transcript written") || !strings.Contains(out, "was removed or replaced") {
		t.Errorf("a removed transcript is reported as:\n%s", out)
	}
}
