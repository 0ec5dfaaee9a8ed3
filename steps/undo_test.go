package steps

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"walstep/cluster"
)

// stoppedBackend has no server running and removes with os.RemoveAll.
type stoppedBackend struct{ cluster.Backend }

func (stoppedBackend) State(context.Context, cluster.Node) (cluster.ProcState, error) {
	return cluster.ProcState{}, nil
}
func (stoppedBackend) RemoveAll(_ context.Context, p string) error { return os.RemoveAll(p) }

// labBackend is a local backend on lab, for its file access (ReadDir).
func labBackend(t *testing.T, lab *cluster.Lab) cluster.Backend {
	t.Helper()
	l, err := cluster.NewLocal(cluster.LocalOptions{Lab: lab})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A retry removes a data dir only when the step's own unfinished run made
// it: one that held files before the step began is left, with a word why.
func TestUndoRemovesOnlyWhatTheStepMade(t *testing.T) {
	lab, err := cluster.InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Lab: lab, Backend: stoppedBackend{labBackend(t, lab)}}
	dd := lab.Path(cluster.PrimaryData)
	keep := filepath.Join(dd, "PG_VERSION")
	if err := os.MkdirAll(dd, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keep, []byte("15\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env.noteDataDir(context.Background(), "6b", cluster.Primary) // the dir holds a cluster already
	err = removeDataDir(context.Background(), env, "6b", "reset", cluster.Primary, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "was there before step 6b ran") || !strings.HasSuffix(err.Error(), "remove it yourself or go back to step reset") {
		t.Fatalf("undo of a dir the step did not make: %v, want the playbook's reset step named", err)
	}
	// A playbook without a reset step offers none.
	if err := removeDataDir(context.Background(), env, "6b", "", cluster.Primary, io.Discard); err == nil || !strings.HasSuffix(err.Error(), "remove it yourself") {
		t.Fatalf("undo without a reset step: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("the earlier data dir was touched: %v", err)
	}

	if err := os.RemoveAll(dd); err != nil {
		t.Fatal(err)
	}
	env.noteDataDir(context.Background(), "1", cluster.Primary) // absent: the step makes it
	if err := os.MkdirAll(dd, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keep, []byte("15\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := removeDataDir(context.Background(), env, "1", "0", cluster.Primary, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dd); !os.IsNotExist(err) {
		t.Fatalf("the half-made data dir is still there: %v", err)
	}
}

// The refusal's advice works: once the user has removed the dir that was
// in the way, the undo before a retry has nothing to refuse.
func TestUndoAfterTheUserRemovedTheDir(t *testing.T) {
	lab, err := cluster.InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Lab: lab, Backend: stoppedBackend{labBackend(t, lab)}}
	dd := lab.Path(cluster.PrimaryData)
	if err := os.MkdirAll(dd, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dd, "stray"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env.noteDataDir(context.Background(), "1", cluster.Primary)
	if err := removeDataDir(context.Background(), env, "1", "0", cluster.Primary, io.Discard); err == nil {
		t.Fatal("the undo removed a dir the step did not make")
	}
	if err := os.RemoveAll(dd); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := removeDataDir(context.Background(), env, "1", "0", cluster.Primary, &out); err != nil {
		t.Fatalf("after rm -rf the undo still refuses: %v", err)
	}
	if !strings.Contains(out.String(), "nothing to remove") {
		t.Fatalf("undo output: %q", out.String())
	}
}
