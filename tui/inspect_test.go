package tui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"walstep/cluster"
	"walstep/pg"
)

// On the local backend include_dir names the link custom-pg-configs in the
// data dir, which walstep makes when it starts the server (a restored
// backup has none). Inspect shows the config dir the server will read, and
// its files, not "no such file or directory".
func TestInspectLocalIncludeDirIsWhatTheServerWillRead(t *testing.T) {
	lab := t.TempDir()
	dd := filepath.Join(lab, cluster.ReplicaData)
	cfg := filepath.Join(lab, cluster.ReplicaConfig)
	for _, d := range []string{dd, cfg} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := "# x\n" + pg.InitdbConfEnd + "\ninclude_dir = 'custom-pg-configs'\n"
	if err := os.WriteFile(filepath.Join(dd, "postgresql.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg, "replica_restore.conf"), []byte("recovery_target = 'immediate'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := &fakeServers{dataDir: map[cluster.Node]string{cluster.Replica: dd}, relConfig: true}
	text := inspect(context.Background(), cluster.Replica, srv, "")
	for _, want := range []string{
		"include_dir 'custom-pg-configs' -> " + cfg,
		"not there yet: walstep links it to this server's config dir when it starts the server",
		"replica_restore.conf", "recovery_target = 'immediate'",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("inspect lacks %q:\n%s", want, text)
		}
	}
	if _, inc, _ := strings.Cut(text, "include_dir '"); strings.Contains(strings.Split(inc, "pg_wal")[0], "cannot list") {
		t.Errorf("inspect reports the link missing as an error:\n%s", text)
	}
	// Once started, the link is there and points at the config dir.
	if err := os.Symlink(cfg, filepath.Join(dd, cluster.ConfigLink)); err != nil {
		t.Fatal(err)
	}
	text = inspect(context.Background(), cluster.Replica, srv, "")
	if !strings.Contains(text, "through the link "+filepath.Join(dd, cluster.ConfigLink)) {
		t.Errorf("inspect with the link:\n%s", text)
	}
}

// Inspect shows the confs as every other output does: primary_conninfo's
// password and WAL-G's keys masked, bidirectional and zero-width controls
// gone.
func TestInspectMasksSecretsAndStripsBidi(t *testing.T) {
	lab := t.TempDir()
	dd := filepath.Join(lab, cluster.ReplicaData)
	cfg := filepath.Join(lab, cluster.ReplicaConfig)
	for _, d := range []string{dd, cfg} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := "# x\n" + pg.InitdbConfEnd + "\ninclude_dir = 'custom-pg-configs'\narchive_command = 'WALG_LIBSODIUM_KEY=sodium-secret wal-g wal-push %p'\n"
	if err := os.WriteFile(filepath.Join(dd, "postgresql.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dd, "postgresql.auto.conf"), []byte("primary_conninfo = 'user=postgres password=auto-secret host=p'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	standby := "primary_conninfo = 'host=127.0.0.1 port=5432 user=postgres password=postgres'\n# evil\u202Eedoc \u200bhidden\n"
	if err := os.WriteFile(filepath.Join(cfg, "replica_standby.conf"), []byte(standby), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(cfg, filepath.Join(dd, cluster.ConfigLink)); err != nil {
		t.Fatal(err)
	}
	srv := &fakeServers{dataDir: map[cluster.Node]string{cluster.Replica: dd}, relConfig: true}
	text := inspect(context.Background(), cluster.Replica, srv, "")
	if !strings.Contains(text, "primary_conninfo = 'host=127.0.0.1 port=5432 user=postgres password=********'") {
		t.Errorf("inspect does not show the conninfo masked:\n%s", text)
	}
	for _, s := range []string{"password=postgres", "auto-secret", "sodium-secret", "\u202E", "\u200b"} {
		if strings.Contains(text, s) {
			t.Errorf("inspect shows %q:\n%s", s, text)
		}
	}
}

// Which steps make a data dir is read from the playbook, not known here.
func TestInspectSaysWhichStepsMakeTheDataDir(t *testing.T) {
	pb := playbook()
	if got := madeBy(pb, cluster.Primary); got != "step 1 runs initdb, step 6b fetches a backup" {
		t.Errorf("primary: %q", got)
	}
	if got := madeBy(pb, cluster.Replica); got != "step 7 fetches a backup" {
		t.Errorf("replica: %q", got)
	}
}
