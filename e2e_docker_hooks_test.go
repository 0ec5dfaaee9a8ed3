package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// On Docker a large SQL hook runs from a file, and a hook (postgres in the
// container) that replaces postgresql.conf with a link to a root-only host
// file makes step 10 fail on the link instead of writing through it.
func TestE2EDockerHooksAndALinkAttack(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	lab, flags := dockerLab(t, img)
	sdir := t.TempDir()
	sentinel := filepath.Join(sdir, "root-only")
	if err := os.WriteFile(sentinel, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("-- a comment line that makes this hook larger than ARG_MAX allows\n", 12000)
	initLabWith(t, lab,
		"hooks/after-4c.primary.sql", big+"select 'big-hook-ran';\n",
		"hooks/after-9.primary.sh", "mv \"$PGDATA/postgresql.conf\" \"$PGDATA/keep.conf\" && ln -s '"+sentinel+"' \"$PGDATA/postgresql.conf\"\n")
	rep, code, stderr := runJSON(t, flags...)
	if b, _ := os.ReadFile(sentinel); string(b) != "secret\n" {
		t.Fatalf("the sentinel was written: %q", b)
	}
	if os.Geteuid() != 0 {
		// Not root: the edit runs in the container as postgres, where the
		// link leads nowhere postgres could not write anyway.
		return
	}
	if code == 0 {
		t.Fatalf("the run passed over a planted link:\n%s", stderr)
	}
	status := map[string]string{}
	errs := map[string]string{}
	for _, s := range rep.Steps {
		status[s.ID], errs[s.ID] = string(s.Status), s.Error
	}
	if status["4c+1"] != "done" || status["9+1"] != "done" {
		t.Fatalf("hooks: 4c+1 %s (%s), 9+1 %s (%s)", status["4c+1"], errs["4c+1"], status["9+1"], errs["9+1"])
	}
	if status["10"] != "failed" || !strings.Contains(errs["10"], "symbolic link") {
		t.Errorf("step 10: %s %q, want a refusal of the link", status["10"], errs["10"])
	}
}
