package main

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The field's verbs exported: a playbook with pg_rewind and repoint
// (healthy), one with an archive held back and released (diverged) and
// the three-node failover (diverged),
// each as a TAP test that passes under prove and as a script that ends on
// the same outcome, against real PostgreSQL.
func TestE2EExportFieldPlaybooks(t *testing.T) {
	skipWithoutPostgres(t)
	lib, regress := tapSetup(t)
	for _, c := range []struct{ playbook, want, tapSays, says string }{
		// prove shows notes, not what system_or_bail ran (that is in the test's log)
		{"double-promotion-rewind", "healthy", "ok 1 - a streams from b", "pg_rewind: Done!"},
		{"double-promotion-both-promoted", "diverged", "# not pushed: 00000002.history (the archive holds it already)", "not pushed: 00000002.history (the archive holds it already)"},
		// three nodes: c repointed from a to b
		{"failover-old-primary-archives", "diverged", "ok 1 - c is refused", "the marker row committed on b did not reach c"},
	} {
		t.Run(c.playbook, func(t *testing.T) {
			t.Parallel()
			work := reachableTempDir(t)
			lab := filepath.Join(work, "lab")
			if code, _, stderr := runMain("init", "--playbook", c.playbook, lab); code != 0 {
				t.Fatalf("init: %s", stderr)
			}
			tdir := filepath.Join(work, "tap")
			tap, script := filepath.Join(tdir, "t", "001_field.pl"), filepath.Join(work, "field.sh")
			if err := os.MkdirAll(filepath.Dir(tap), 0o755); err != nil {
				t.Fatal(err)
			}
			if code, out, stderr := runMain("export", "--lab", lab, "--expect", c.want, "--tap", tap, "--script", script); code != 0 {
				t.Fatalf("export: exit %d\n%s%s", code, out, stderr)
			}
			out, ok := prove(t, tdir, filepath.Join("t", "001_field.pl"), lib, regress)
			if !ok || !strings.Contains(out, "Result: PASS") || !strings.Contains(out, c.tapSays) || strings.Contains(out, "masks earlier declaration") {
				t.Fatalf("prove: passed=%v, want PASS saying %q and no warnings:\n%s", ok, c.tapSays, out)
			}
			runDir := filepath.Join(work, "script-run")
			if err := os.Mkdir(runDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if os.Geteuid() == 0 {
				if u, err := user.Lookup("postgres"); err == nil {
					uid, _ := strconv.Atoi(u.Uid)
					gid, _ := strconv.Atoi(u.Gid)
					_ = os.Chown(runDir, uid, gid)
				}
			}
			sout, err := exec.Command("bash", script, runDir).CombinedOutput()
			lines := strings.Split(strings.TrimSpace(string(sout)), "\n")
			if err != nil || len(lines) < 2 || !strings.HasPrefix(lines[len(lines)-2], c.want+": ") || !strings.Contains(string(sout), c.says) {
				t.Fatalf("the exported script (%v) does not end on %s saying %q:\n%s", err, c.want, c.says, sout)
			}
		})
	}
}
