package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The Markdown report of a default run holds what a bug report upstream
// needs: the timeline picture, the archive view, the diagnosis with its
// evidence, the exact versions and the lab's confs with secrets masked.
func TestE2EMarkdownReportOfADefaultRun(t *testing.T) {
	skipWithoutPostgres(t)
	t.Parallel()
	work := reachableTempDir(t)
	lab, md := filepath.Join(work, "lab"), filepath.Join(work, "report.md")
	t.Cleanup(func() { _, _, _ = runMain("clean", "--lab", lab) })
	// A hook that changes nothing: the report lists the hooks a run had.
	initLabWith(t, lab, "hooks/after-13.primary.sql", "select 1; -- a look at the primary\n")
	code, stdout, stderr := runMain("run", "--lab", lab, "--backend", "local", "--archiver", "cp", "--markdown", md)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "report for an issue tracker written to "+md) {
		t.Errorf("run does not say where the report is:\n%s", stdout)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	rep := string(b)
	section := func(title string) string {
		i := strings.Index(rep, "\n## "+title)
		if i < 0 {
			t.Fatalf("no section %q:\n%s", title, rep)
		}
		s := rep[i+4:]
		if j := strings.Index(s, "\n## "); j >= 0 {
			s = s[:j]
		}
		return s
	}
	if !strings.HasPrefix(rep, "# PostgreSQL concurrent restore: verdict DIVERGED\n") {
		t.Errorf("title: %q", strings.SplitN(rep, "\n", 2)[0])
	}
	checks := []struct{ section, want string }{
		{"Timelines", "```text\n"},
		{"Timelines", "TL2"},
		{"Timelines", "fork 0/2000100"},
		{"Archive", "000000010000000000000002"},
		{"Archive", "00000002.history"},
		{"Diagnosis: diverged", "Evidence:"},
		{"Diagnosis: diverged", "WAL at the fork (pg_waldump):"},
		{"Diagnosis: diverged", "SWITCH"},
		{"Diagnosis: diverged", "past the fork point 0/2000100"},
		{"Diagnosis: diverged", "Proof from the data (agrees with the positions and logs):\n- past the fork: The replica replayed "},
		{"Diagnosis: diverged", "- replica: absent within 5s: it answered, without the row (step P, "},
		{"Steps", "| P | Proof: walstep writes a marker row and looks for it on the replica | done |"},
		{"Diagnosis: diverged", "requested starting point 0/3000000 is ahead of the WAL flush position"},
		{"Diagnosis: diverged", "`00000002.history`: timeline 1 ended at 0/2000100 (reached consistency)"},
		{"Versions", "| PostgreSQL | postgres (PostgreSQL) 15."},
		{"Versions", "| backend | local |"},
		{"Steps", "| F6 | Start the replica as a streaming standby | done |"},
		{"Lab configuration", "`primary_restore.conf`:"},
		{"Lab configuration", "recovery_target = 'immediate'"},
		{"Lab configuration", "`replica_restore.conf`:"},
		{"Lab configuration", "`replica_standby.conf`:"},
		{"Lab configuration", "password=********"},
		{"Lab configuration", "`wal-g.json`:"},
		{"Lab configuration", "`hooks/after-13.primary.sql`:\n\n```sql\nselect 1; -- a look at the primary\n```"},
	}
	for _, c := range checks {
		if !strings.Contains(section(c.section), c.want) {
			t.Errorf("section %q lacks %q:\n%s", c.section, c.want, section(c.section))
		}
	}
	if !regexp.MustCompile(`\| walstep \| [0-9a-f]{40}`).MatchString(section("Versions")) {
		t.Errorf("no walstep commit in the versions:\n%s", section("Versions"))
	}
	if strings.Contains(rep, "password=postgres") {
		t.Errorf("the report shows the lab's password")
	}

	// A second run never replaces the report, and says so before running.
	before := rep
	code, _, stderr = runMain("run", "--lab", lab, "--backend", "local", "--archiver", "cp", "--markdown", md)
	if code == 0 || !strings.Contains(stderr, "exists: pass --force") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("run over an existing report: exit %d, stderr:\n%s", code, stderr)
	}
	if after, _ := os.ReadFile(md); string(after) != before {
		t.Errorf("an existing report was changed")
	}
	// Nor does it write into what the next run deletes.
	code, _, stderr = runMain("run", "--lab", lab, "--backend", "local", "--archiver", "cp", "--markdown", filepath.Join(lab, "logs", "r.md"))
	if code == 0 || !strings.Contains(stderr, "each run deletes") {
		t.Errorf("run --markdown into the lab's logs/: exit %d, stderr:\n%s", code, stderr)
	}
	// With --force the report is replaced, by the new run's.
	if code, _, stderr = runMain("run", "--lab", lab, "--backend", "local", "--archiver", "cp", "--markdown", md, "--force"); code != 0 {
		t.Fatalf("run --markdown --force: exit %d\n%s", code, stderr)
	}
	after, _ := os.ReadFile(md)
	// (Its verdict is the race's: this test does not look at it.)
	if string(after) == before || !strings.HasPrefix(string(after), "# PostgreSQL concurrent restore: verdict ") {
		t.Errorf("--force did not replace the report:\n%.300s", after)
	}
	if st, _ := os.Stat(md); st.Mode().Perm() != 0o600 {
		t.Errorf("the report is %v, want 0600", st.Mode().Perm())
	}
}

// assertWalGVersion checks a run's Markdown report names the WAL-G that
// archived and the PostgreSQL, as the servers' environment runs them.
func assertWalGVersion(t *testing.T, md string) {
	t.Helper()
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\| WAL-G \| wal-g version v\d+\.\d+\.\d+ `).Match(b) || !strings.Contains(string(b), "| archiver | wal-g |") {
		t.Errorf("the report does not name the WAL-G version:\n%s", b)
	}
	if !regexp.MustCompile(`\| PostgreSQL \| postgres \(PostgreSQL\) \d+\.\d+`).Match(b) {
		t.Errorf("the report does not name the PostgreSQL version:\n%s", b)
	}
}
