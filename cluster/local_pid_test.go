package cluster

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A stale postmaster.pid in a lab that names another cluster's live
// postmaster (a second real server outside the lab) is not the lab's:
// State, a new session and `walstep clean` leave that server alone.
func TestStalePIDFileNamingAnotherCluster(t *testing.T) {
	ctx := localCtx(t)
	_, other := localLab(t) // the other cluster, outside the lab below
	localStarted(t, ctx, other, Primary)
	otherPID := PostmasterPID(other.DataDir(Primary))
	if otherPID <= 0 {
		t.Fatal("the other cluster's postmaster is not found in its own data dir")
	}
	lab, l := localLab(t)
	dd := l.DataDir(Primary)
	if err := os.MkdirAll(dd, 0o700); err != nil {
		t.Fatal(err)
	}
	pidFile, err := os.ReadFile(filepath.Join(other.DataDir(Primary), "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dd, "postmaster.pid"), pidFile, 0o600); err != nil {
		t.Fatal(err)
	}
	if pid := PostmasterPID(dd); pid != 0 {
		t.Fatalf("PostmasterPID took pid %d of another cluster for the lab's", pid)
	}
	if st, _ := l.State(ctx, Primary); st.Running {
		t.Errorf("State says the lab's primary runs: %+v", st)
	}
	if err := CleanLab(ctx, lab, CleanOptions{}); err != nil {
		t.Fatalf("clean: %v", err)
	}
	if !processAlive(otherPID) {
		t.Fatal("clean of one lab stopped another cluster's postmaster")
	}
	if st, _ := other.State(ctx, Primary); !st.Running {
		t.Errorf("the other cluster's primary: %+v", st)
	}
}

// The effective wal-g.json may hold storage keys: it is the server user's
// alone, and written without following a link planted in run/.
func TestWalgConfigIsTheServerUsers(t *testing.T) {
	lab, l := localLab(t)
	if err := WriteWalgConfig(lab, l); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(lab.Path(RunDir, WalgJSON))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("run/wal-g.json: mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	if l.runAs != nil {
		if uid := st.Sys().(*syscall.Stat_t).Uid; uid != l.runAs.Uid {
			t.Errorf("run/wal-g.json owned by uid %d, want the server user's %d", uid, l.runAs.Uid)
		}
	}
}

// WAL-G, as the server user, makes and fills WALG_PREFETCH_DIR: one
// outside the lab is refused before anything runs; inside a data dir or
// relative to it is fine.
func TestWalgPrefetchDirOutsideTheLabIsRefused(t *testing.T) {
	lab, l := localLab(t)
	outside := t.TempDir()
	for dir, ok := range map[string]bool{
		outside:                                 false,
		"/tmp/prefetch":                         false,
		"../../elsewhere":                       false,
		filepath.Join(l.DataDir(Replica), "pf"): true,
		filepath.Join(lab.Path(StorageDir), "pf"): true,
		"pg_wal/.prefetch":                        true,
	} {
		labWriteFile(t, lab.Path(WalgJSON), `{"WALG_PREFETCH_DIR": "`+dir+`"}`)
		err := WriteWalgConfig(lab, l)
		if ok && err != nil {
			t.Errorf("WALG_PREFETCH_DIR %s: %v", dir, err)
		}
		if !ok {
			labOneLine(t, "WALG_PREFETCH_DIR "+dir, err, "WALG_PREFETCH_DIR", dir)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) > 0 {
		t.Errorf("something was made outside: %v", ents)
	}
}
