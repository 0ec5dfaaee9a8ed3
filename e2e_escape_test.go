package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A role name with terminal escapes, sent before authentication, lands in
// the server log and in psql's error: neither `run -v`, the report's log
// tails nor the transcript carries a control byte.
func TestEscapeInARoleNameNeverReachesTheScreen(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	dir := reachableTempDir(t)
	lab := filepath.Join(dir, "lab")
	initLabWith(t, lab, "hooks/after-3.primary.sh",
		"psql -U \"$(printf 'x\\033]0;PWNED\\007\\033[2J')\" -c 'select 1' || true\n")
	tr := filepath.Join(dir, "transcript.md")
	code, stdout, stderr := runMain("run", "-v", "--lab", lab, "--backend", "local", "--archiver", "cp", "--transcript", tr)
	// The OSC (title) and CSI (clear screen) sequences go whole; the
	// rest of the name stays.
	if !strings.Contains(stdout, `role "x" does not exist`) {
		t.Fatalf("the hook's psql error is not in run -v (exit %d):\n%s\n%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(lab, "logs", "primary.log"))
	if !strings.Contains(string(raw), "\x1b]0;PWNED") {
		t.Fatalf("the server log does not hold the escape; the test proves nothing:\n%s", raw)
	}
	for name, s := range map[string]string{"run -v": stdout, "stderr": stderr, "transcript": string(b)} {
		if i := strings.IndexAny(s, "\x1b\x07\x9b"); i >= 0 {
			t.Errorf("%s carries a control byte: %q", name, s[max(0, i-60):min(len(s), i+40)])
		}
	}
	_, jout, _ := runMain("run", "--json", "--lab", lab, "--backend", "local", "--archiver", "cp")
	if !strings.Contains(jout, `role \"x\" does not exist`) || strings.Contains(jout, `\u001b`) || strings.Contains(jout, `\u0007`) {
		t.Errorf("the JSON report's log tail lacks the line or carries an escape")
	}
}
