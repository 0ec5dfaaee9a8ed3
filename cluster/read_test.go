package cluster

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Both backends read the servers' directories through ReadFile and ReadDir,
// by area and relative name: links are listed, not followed, and a name
// that leaves the area is refused.
func TestReadThroughTheBackend(t *testing.T) {
	lab, err := InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDocker(DockerOptions{Lab: lab})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background(), false)
	for _, b := range []Backend{&Local{lab: lab}, d} {
		ctx := context.Background()
		data := lab.Path(ReplicaData)
		for _, dir := range []string{filepath.Join(data, "pg_wal"), lab.Path(ReplicaConfig), lab.Path(StorageDir, WALDir)} {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(data, "pg_wal", "00000002.history"), []byte("1\t0/2000100\treached consistency\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(lab.Path(ReplicaConfig, "replica_restore.conf"), []byte("x = 1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_ = os.Symlink(lab.Path(ReplicaConfig), filepath.Join(data, ConfigLink))

		got, err := b.ReadFile(ctx, Replica, AreaData, "pg_wal/00000002.history")
		if err != nil || string(got) != "1\t0/2000100\treached consistency\n" {
			t.Errorf("%s: history file %q, %v", b.Name(), got, err)
		}
		if got, err := b.ReadFile(ctx, Replica, AreaConfig, "replica_restore.conf"); err != nil || string(got) != "x = 1\n" {
			t.Errorf("%s: config file %q, %v", b.Name(), got, err)
		}
		ents, err := b.ReadDir(ctx, Replica, AreaData, "")
		if err != nil || len(ents) != 2 || ents[0].Name != ConfigLink || ents[0].Link != lab.Path(ReplicaConfig) || ents[1].Name != "pg_wal" || !ents[1].Dir {
			t.Errorf("%s: data dir lists %+v, %v", b.Name(), ents, err)
		}
		if ents, err := b.ReadDir(ctx, Primary, AreaStorage, WALDir); err != nil || len(ents) != 0 {
			t.Errorf("%s: archive lists %+v, %v", b.Name(), ents, err)
		}
		if _, err := b.ReadFile(ctx, Primary, AreaData, "PG_VERSION"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: a missing file: %v", b.Name(), err)
		}
		for _, bad := range []string{"../replica-data/pg_wal/00000002.history", "/etc/passwd"} {
			if _, err := b.ReadFile(ctx, Primary, AreaData, bad); err == nil {
				t.Errorf("%s: read %s outside the area", b.Name(), bad)
			}
		}
	}
}
