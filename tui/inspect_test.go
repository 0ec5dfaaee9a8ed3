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
	text := inspect(context.Background(), cluster.Replica, srv)
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
	text = inspect(context.Background(), cluster.Replica, srv)
	if !strings.Contains(text, "through the link "+filepath.Join(dd, cluster.ConfigLink)) {
		t.Errorf("inspect with the link:\n%s", text)
	}
}
