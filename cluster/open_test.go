package cluster

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reachableDir is a temporary directory the postgres user can traverse.
func reachableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "walstep-open-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Open picks the backend and the archiver and says why; with wal-g asked
// for on the local backend, the servers run that wal-g.
func TestOpenLocal(t *testing.T) {
	if _, err := FindPGBin(""); err != nil {
		t.Skip("no PostgreSQL server binaries")
	}
	lab, err := OpenOrInitLab(filepath.Join(reachableDir(t), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b, arc, why, err := Open(ctx, lab, OpenOptions{Backend: "local", Archiver: "cp"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx, false)
	if b.Name() != "local" || arc.Name() != "cp" || len(why) != 2 || !strings.Contains(why[0], "asked for with --backend local") {
		t.Errorf("backend %s, archiver %s, why %q", b.Name(), arc.Name(), why)
	}

	// A wal-g of our own (a script: only its path matters here).
	walg := filepath.Join(t.TempDir(), "wal-g")
	if err := os.WriteFile(walg, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b2, arc2, _, err := Open(ctx, lab, OpenOptions{Backend: "local", Archiver: "wal-g", WalG: walg})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close(ctx, false)
	if w, ok := arc2.(WalG); !ok || w.Bin != walg || b2.Paths(Primary).WalgBin != walg {
		t.Errorf("archiver %+v, servers' wal-g %q, want %s", arc2, b2.Paths(Primary).WalgBin, walg)
	}

	if _, _, _, err := Open(ctx, lab, OpenOptions{Backend: "kubernetes"}); err == nil || !strings.Contains(err.Error(), "use auto, local or docker") {
		t.Errorf("unknown backend: %v", err)
	}
}

// Without a Docker engine, auto falls back to local and says why.
func TestOpenAutoWithoutDocker(t *testing.T) {
	if _, err := FindPGBin(""); err != nil {
		t.Skip("no PostgreSQL server binaries")
	}
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-engine.sock"))
	lab, err := OpenOrInitLab(filepath.Join(reachableDir(t), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b, _, why, err := Open(ctx, lab, OpenOptions{Backend: "auto", Archiver: "cp"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx, false)
	if b.Name() != "local" || !strings.Contains(why[0], "docker not used") {
		t.Errorf("backend %s, why %q", b.Name(), why)
	}
}
