package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A password in a custom primary_conninfo is masked in `run -v` and in the
// transcript, and its copy in replica-config/ is readable by its owner
// alone.
func TestConninfoPasswordMasked(t *testing.T) {
	skipWithoutPostgres(t)
	dir := reachableTempDir(t)
	lab := filepath.Join(dir, "lab")
	initLabWith(t, lab, "replica_standby.conf",
		"primary_conninfo = 'host=${PRIMARY_HOST} port=${PRIMARY_PORT} user=postgres password=s3cret-pw'\nprimary_slot_name = 'replica'\n")
	tr := filepath.Join(dir, "t.md")
	_, stdout, stderr := runMain("run", "-v", "--lab", lab, "--backend", "local", "--archiver", "cp", "--transcript", tr)
	if !strings.Contains(stdout, "primary_conninfo = 'host=127.0.0.1") {
		t.Fatalf("run -v does not show the copied conf:\n%s\n%s", stdout, stderr)
	}
	b, err := os.ReadFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"run -v": stdout + stderr, "transcript": string(b)} {
		if strings.Contains(s, "s3cret-pw") {
			t.Errorf("%s shows the password", name)
		}
	}
	for _, p := range []string{filepath.Join(lab, "replica-config", "replica_standby.conf"), tr} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", p, st.Mode().Perm(), err)
		}
	}
}

// A password set in a SQL hook and WAL-G's libsodium key are masked in
// every output: run -v, the report, the transcript and the Markdown
// report; bidirectional and zero-width controls a hook prints never reach
// any of them.
func TestSecretsAndBidiMaskedEverywhere(t *testing.T) {
	skipWithoutPostgres(t)
	dir := reachableTempDir(t)
	lab := filepath.Join(dir, "lab")
	t.Cleanup(func() { runMain("clean", "--lab", lab) })
	initLabWith(t, lab,
		"hooks/after-4c.primary.sql", "create role app login password 'sql-secret-1';\nalter role app with encrypted password 'sql-secret-2';\n",
		"hooks/after-0.primary.sh", "printf 'bidi \\342\\200\\256gnp.exe zero\\342\\200\\213width \\342\\201\\246iso\\342\\201\\251\\n'\necho \"PGPASSWORD=env-secret-3\"\n",
		"wal-g.json", "{\n  \"WALG_FILE_PREFIX\": \"/wal-g-storage\",\n  \"WALG_LIBSODIUM_KEY\": \"sodium-secret-4\",\n  \"PGUSER\": \"postgres\"\n}\n")
	tr := filepath.Join(dir, "t.md")
	md := filepath.Join(dir, "r.md")
	code, stdout, stderr := runMain("run", "-v", "--lab", lab, "--backend", "local", "--archiver", "cp", "--transcript", tr, "--markdown", md)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "bidi gnp.exe zerowidth iso") || !strings.Contains(stdout, "PGPASSWORD=********") {
		t.Errorf("run -v does not show the hook's lines masked and stripped:\n%s", stdout)
	}
	outputs := map[string]string{"run -v": stdout + stderr}
	for _, p := range []string{tr, md} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		outputs[p] = string(b)
	}
	// The transcript quotes the SQL hook as it ran; psql runs it from a
	// file, so its password shows nowhere else.
	if !strings.Contains(outputs[tr], "password '********'") {
		t.Errorf("the transcript does not quote the SQL hook with its password masked:\n%s", outputs[tr])
	}
	if !strings.Contains(outputs[md], "WALG_LIBSODIUM_KEY") {
		t.Errorf("the Markdown report lacks wal-g.json")
	}
	for name, s := range outputs {
		for _, secret := range []string{"sql-secret-1", "sql-secret-2", "env-secret-3", "sodium-secret-4", "\u202E", "\u200B", "\u2066", "\u2069"} {
			if strings.Contains(s, secret) {
				t.Errorf("%s shows %q", name, secret)
			}
		}
	}
}
