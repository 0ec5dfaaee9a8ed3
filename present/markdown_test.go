package present

import (
	"strings"
	"testing"
	"time"

	"walstep/pg"
)

// One rule masks the whole report: the confs, the hooks and the steps'
// errors.
func TestWriteMarkdownMasksSecrets(t *testing.T) {
	var b strings.Builder
	err := WriteMarkdown(&b, Report{
		Steps: []ReportStep{{ID: "13+1", Status: "failed", Error: "psql: alter role postgres password 'step-secret' failed"}},
		Confs: []Conf{
			{Name: "hooks/after-13.primary.sql", Text: "alter role postgres password 'hook-secret';\n"},
			{Name: "wal-g.json", Text: "{\n  \"WALG_LIBSODIUM_KEY\": \"sodium-secret\"\n}\n"},
			{Name: "replica_standby.conf", Text: "primary_conninfo = 'host=p user=postgres password=conninfo-secret'\n"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"step-secret", "hook-secret", "sodium-secret", "conninfo-secret"} {
		if strings.Contains(b.String(), s) {
			t.Errorf("the report shows %s", s)
		}
	}
	if !strings.Contains(b.String(), "WALG_LIBSODIUM_KEY") {
		t.Error("the masked key's name is gone too")
	}
}

func TestWriteMarkdownSections(t *testing.T) {
	d := &pg.Diagnosis{Verdict: pg.VerdictDiverged, Explanation: "The replica replayed past the fork.", Cause: "Timeline 2's segment was not archived yet.",
		Evidence: []string{"replica position 0/3000000 on timeline 1 is past the fork point 0/2000100"},
		Findings: []pg.Finding{{Node: "primary", Repeats: 6, Line: "ERROR:  requested starting point 0/3000000 is ahead of the WAL flush position of this server 0/2000178"}}}
	var b strings.Builder
	err := WriteMarkdown(&b, Report{
		Generated: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), Lab: "/tmp/lab", Backend: "local", Archiver: "cp",
		Versions:  []Version{{"PostgreSQL", "postgres (PostgreSQL) 15.14", "postgres --version on the primary"}, {"walstep", "abc123 | x", "build info"}},
		Steps:     []ReportStep{{ID: "12", Title: "Start both servers", Status: "done", Duration: 1500 * time.Millisecond}, {ID: "F6", Title: "Start the replica", Status: "failed", Error: "replica refused:\n```boom```"}},
		Diagnosis: d,
		Confs:     []Conf{{"replica_standby.conf", "primary_conninfo = 'user=replicator password=secret'\n"}, {"wal-g.json", `{"PGPASSWORD": "pw"}`}},
	})
	if err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"# PostgreSQL concurrent restore: verdict DIVERGED", "## Timelines", "## Archive", "## Diagnosis: diverged",
		"Cause: Timeline 2's segment", "- replica position 0/3000000", "primary: ERROR:  requested starting point", "this server 0/2000178 (x6)",
		"## Versions", "| PostgreSQL | postgres (PostgreSQL) 15.14 |", `abc123 \| x`, "## Steps", "| 12 | Start both servers | done | 1.5s |",
		"Step F6 failed:", "````text\nreplica refused:\n```boom```\n````", "## Lab configuration", "`replica_standby.conf`:", "```ini\nprimary_conninfo", "```json\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	for _, secret := range []string{"password=secret", `"pw"`} {
		if strings.Contains(md, secret) {
			t.Errorf("report shows a secret %q", secret)
		}
	}
}

// The servers' states say when they were read and what became of the
// servers after; the WAL section's lines wrap at the report's width rather
// than being cut, since a reader of the document cannot scroll.
func TestWriteMarkdownServersLabelAndWALWrap(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 0, 12, 0, time.UTC)
	wal := &pg.WALAtFork{ForkLSN: mustLSN(t, "0/2000100"),
		WALRange: pg.WALRange{Timeline: 1, From: mustLSN(t, "0/2000100"), To: mustLSN(t, "0/3000000"), Total: 1, Records: []pg.WALRecord{{LSN: mustLSN(t, "0/2000100"), Rmgr: "Heap", Type: "INSERT", XID: 735,
			Relations: []string{"base/5/16384 (public.test)", "base/5/16389 (public.test_pkey)", "base/5/16390 (public.a_rather_long_table_name_here)"}}}}}
	var b strings.Builder
	err := WriteMarkdown(&b, Report{Generated: at, Lab: "/tmp/lab", Backend: "local", Archiver: "cp",
		Snapshot:    pg.Snapshot{At: at, Nodes: []pg.Reading{{Node: "primary", Up: true, Process: pg.ProcUp}}},
		ServersThen: "walstep stops them once this report is written",
		WAL:         wal})
	if err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if !strings.Contains(md, "Servers as walstep read them when the last step had ended (09:00:12 UTC); walstep stops them once this report is written:") {
		t.Errorf("the servers' states are not labelled with when they were read:\n%s", md)
	}
	if strings.Contains(md, "Servers after the run:") {
		t.Errorf("the old label is still there")
	}
	for _, l := range strings.Split(md, "\n") {
		if strings.Contains(l, "…") && strings.Contains(l, "base/5") {
			t.Errorf("a WAL record line is cut: %q", l)
		}
	}
	if !strings.Contains(md, "public.a_rather_long_table_name_here") {
		t.Errorf("the record's last relation is lost:\n%s", md)
	}
}

func mustLSN(t *testing.T, s string) pg.LSN {
	t.Helper()
	l, err := pg.ParseLSN(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
