package explore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"walstep/cluster"
	"walstep/playbook"
	"walstep/steps"
)

// fakePrefix leaves what verifyPrefix looks for.
func fakePrefix(t *testing.T, lab *cluster.Lab) {
	for _, d := range []string{cluster.PrimaryData, cluster.ReplicaData, cluster.StorageDir + "/" + cluster.BackupsDir + "/base_1"} {
		if err := os.MkdirAll(lab.Path(d), 0o755); err != nil {
			t.Error(err)
		}
	}
	for _, d := range []string{cluster.PrimaryData, cluster.ReplicaData} {
		if err := os.WriteFile(lab.Path(d, "backup_label"), []byte("x"), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// The scheduling only: a fake executor records what it was asked; the
// playbook itself is covered by the e2e tests.
func TestExplorerSharesPrefixAndBoundsJobs(t *testing.T) {
	lab := newLab(t)
	vs, _ := LoadVariants(lab)
	vs, _ = SelectVariants(vs, []string{"default", "no-target", "switch-after-13"})
	var mu sync.Mutex
	prefixes, fromPrefix := 0, 0
	var running, peak atomic.Int32
	exec := func(ctx context.Context, j Job) (Outcome, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond) // lets jobs overlap; not a synchronisation
		mu.Lock()
		defer mu.Unlock()
		if j.Until == shareUntil(playbook.Seed()) {
			prefixes++
			fakePrefix(t, j.Lab)
			if j.Check == nil {
				t.Error("a prefix job without the check of what it leaves")
				return Outcome{Verdict: "unknown"}, nil
			}
			l, err := cluster.NewLocal(cluster.LocalOptions{Lab: j.Lab})
			if err != nil {
				return Outcome{}, err
			}
			return Outcome{Verdict: "unknown"}, j.Check(ctx, &steps.Env{Lab: j.Lab, Backend: l})
		}
		if j.From == shareUntil(playbook.Seed()) && j.Prepare != nil {
			fromPrefix++
		}
		return Outcome{Verdict: map[string]string{"default": "diverged"}[filepathBase3(j.Lab.Dir)]}, nil
	}
	ex := New(Plan{Lab: lab, Variants: vs, Resolved: Resolved{Backend: "local", Columns: []Column{{PG: 15, Archiver: "cp"}, {PG: 15, Archiver: "wal-g"}}},
		Repeat: 2, Jobs: 2, Share: true, Dir: t.TempDir(), Name: "t", Exec: exec})
	var calls atomic.Int32
	ex.SetRunDone(func(c *Cell, r RunResult, p Progress) { calls.Add(1) })
	m := ex.Run(context.Background())
	if prefixes != 2 || fromPrefix != 12 || calls.Load() != 12 {
		t.Errorf("prefixes %d (want 2, one per column), runs from a prefix %d (want 12), callbacks %d", prefixes, fromPrefix, calls.Load())
	}
	if peak.Load() > 2 {
		t.Errorf("%d jobs at once, want at most 2", peak.Load())
	}
	if m.Interrupted || m.CellsDone() != 6 || len(m.Prefixes) != 2 {
		t.Errorf("interrupted %v, cells done %d, prefixes %d", m.Interrupted, m.CellsDone(), len(m.Prefixes))
	}
}

func TestExplorerCancelledKeepsFinishedCellsOnly(t *testing.T) {
	lab := newLab(t)
	vs, _ := LoadVariants(lab)
	vs, _ = SelectVariants(vs, []string{"default", "no-target"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exec := func(ctx context.Context, j Job) (Outcome, error) {
		if filepathBase3(j.Lab.Dir) == "no-target" {
			cancel()
			<-ctx.Done()
			return Outcome{FailedStep: "12"}, nil
		}
		return Outcome{Verdict: "diverged"}, nil
	}
	m := New(Plan{Lab: lab, Variants: vs, Resolved: Resolved{Backend: "local", Columns: []Column{{PG: 15, Archiver: "cp"}}},
		Repeat: 1, Jobs: 1, Dir: t.TempDir(), Name: "t", Exec: exec}).Run(ctx)
	if !m.Interrupted || m.CellsDone() != 1 || m.Cell("no-target", Column{PG: 15, Archiver: "cp"}).Runs != 0 {
		t.Errorf("interrupted %v, cells done %d, want the interrupted run left out", m.Interrupted, m.CellsDone())
	}
}

// filepathBase3 is the variant name of a run lab .../<variant>/<col>/run<N>/lab.
func filepathBase3(dir string) string {
	parts := strings.Split(filepath.ToSlash(dir), "/")
	if len(parts) < 4 {
		return ""
	}
	return parts[len(parts)-4]
}
