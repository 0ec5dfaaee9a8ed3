package pg

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"walstep/cluster"
)

// hiddenDirs is a Source whose data dirs the host cannot read, as on Docker
// when walstep does not run as root: the poller sees an empty stand-in
// (shadow) for each data dir; everything else is the real backend.
type hiddenDirs struct {
	*cluster.Local
	shadow string
}

func (h hiddenDirs) DataDir(n cluster.Node) string { return filepath.Join(h.shadow, string(n)+"-data") }

// ReadFile and ReadDir see the shadow data dirs and an empty archive.
func (h hiddenDirs) ReadFile(_ context.Context, n cluster.Node, a cluster.FileArea, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(h.area(n, a), name))
}

func (h hiddenDirs) ReadDir(_ context.Context, n cluster.Node, a cluster.FileArea, name string) ([]cluster.FileInfo, error) {
	return hostReadDir(filepath.Join(h.area(n, a), name))
}

func (h hiddenDirs) area(n cluster.Node, a cluster.FileArea) string {
	if a == cluster.AreaStorage {
		return filepath.Join(h.shadow, "empty-storage")
	}
	return h.DataDir(n)
}

func newHiddenDirs(t *testing.T, l *cluster.Local) hiddenDirs {
	t.Helper()
	h := hiddenDirs{Local: l, shadow: t.TempDir()}
	for _, n := range cluster.SeedTopology().Nodes() {
		if err := os.Mkdir(h.DataDir(n), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// TestPollHistoriesThroughSQL: when neither the archive nor pg_wal can be
// read on the host, the history files come from the server itself.
func TestPollHistoriesThroughSQL(t *testing.T) {
	skipShort(t)
	l := newPGLab(t)
	l.startPrimary(t)
	// A history file in pg_wal, as a promotion leaves it; the server does
	// not mind an extra file.
	hist := filepath.Join(l.b.DataDir(cluster.Primary), "pg_wal", "00000002.history")
	if err := os.WriteFile(hist, []byte("1\t0/2000100\treached consistency\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Owned like the rest of pg_wal (the server runs as postgres).
	if st, err := os.Stat(filepath.Dir(hist)); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			_ = os.Chown(hist, int(sys.Uid), int(sys.Gid))
		}
	}
	p := NewPoller(newHiddenDirs(t, l.b), PollerOptions{})
	defer p.Close()
	s := pollUntil(t, p, 20*time.Second, "the history read through SQL", func(s Snapshot) bool { return len(s.Histories) > 0 })
	h := s.Histories[0]
	if h.TLI != 2 || len(h.Entries) != 1 || h.Entries[0].TLI != 1 || h.Entries[0].Switch.String() != "0/2000100" || h.Entries[0].Reason != "reached consistency" {
		t.Fatalf("history %+v, want timeline 2 forked off 1 at 0/2000100 (reached consistency)", h)
	}
	// Once read, it stays known while the server is down.
	if err := l.b.Stop(context.Background(), cluster.Primary, os.Stderr); err != nil {
		t.Fatal(err)
	}
	if s := p.Poll(context.Background()); len(s.Histories) != 1 || s.Nodes[0].Up {
		t.Errorf("after stop: up %v, histories %+v; want the history kept", s.Nodes[0].Up, s.Histories)
	}
}

// TestPollHistoriesThroughSQLForgetAReset: the histories read through SQL
// belong to one cluster. After a lab reset (the data dir removed, as step 0
// does when the playbook runs again) and a new initdb, the old run's
// timeline 2 must not stay in the panel's timeline picture and diagnosis.
func TestPollHistoriesThroughSQLForgetAReset(t *testing.T) {
	skipShort(t)
	l := newPGLab(t)
	l.startPrimary(t)
	hist := filepath.Join(l.b.DataDir(cluster.Primary), "pg_wal", "00000002.history")
	writeServerFile(t, hist, "1\t0/2000100\treached consistency\n")
	hd := newHiddenDirs(t, l.b)
	p := NewPoller(hd, PollerOptions{ControlEvery: time.Millisecond})
	defer p.Close()
	pollUntil(t, p, 20*time.Second, "the history read through SQL", func(s Snapshot) bool { return len(s.Histories) > 0 })

	// A file removed from pg_wal while the server runs is forgotten.
	if err := os.Remove(hist); err != nil {
		t.Fatal(err)
	}
	if s := p.Poll(context.Background()); len(s.Histories) != 0 {
		t.Errorf("history removed from pg_wal still reported: %+v", s.Histories)
	}
	writeServerFile(t, hist, "1\t0/2000100\treached consistency\n")
	pollUntil(t, p, 20*time.Second, "the history read again", func(s Snapshot) bool { return len(s.Histories) > 0 })

	// The lab is reset: the server stops, its data dir goes.
	if err := l.b.Stop(context.Background(), cluster.Primary, os.Stderr); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{l.b.DataDir(cluster.Primary), hd.DataDir(cluster.Primary)} {
		if err := os.RemoveAll(d); err != nil {
			t.Fatal(err)
		}
	}
	if s := p.Poll(context.Background()); len(s.Histories) != 0 {
		t.Errorf("after the data dir was removed: histories %+v, want none", s.Histories)
	}
	// Even if no poll saw the data dir missing, a new cluster in its place
	// (initdb of the next run) does not inherit the old one's histories.
	p2 := NewPoller(hd, PollerOptions{ControlEvery: time.Millisecond})
	defer p2.Close()
	if err := os.Mkdir(hd.DataDir(cluster.Primary), 0o700); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := l.b.Init(context.Background(), cluster.Primary, &out); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out.String())
	}
	l.start(t, cluster.Primary)
	writeServerFile(t, hist, "1\t0/2000100\treached consistency\n")
	pollUntil(t, p2, 20*time.Second, "the history of the first cluster", func(s Snapshot) bool { return len(s.Histories) > 0 })
	if err := l.b.Stop(context.Background(), cluster.Primary, os.Stderr); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(l.b.DataDir(cluster.Primary)); err != nil {
		t.Fatal(err)
	}
	if err := l.b.Init(context.Background(), cluster.Primary, &out); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out.String())
	}
	if s := p2.Poll(context.Background()); len(s.Histories) != 0 {
		t.Errorf("after a new initdb in place of the old cluster: histories %+v, want none", s.Histories)
	}
}

// writeServerFile writes a file the server can read: owned like the
// directory it is in (the server runs as postgres when the tests run as
// root).
func writeServerFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Dir(path)); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			_ = os.Chown(path, int(sys.Uid), int(sys.Gid))
		}
	}
}
