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
