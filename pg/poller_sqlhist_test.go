package pg

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"walstep/cluster"
)

// hiddenDirs is a Source whose data dirs the host cannot read, as on Docker
// when walstep does not run as root; everything else is the real backend.
type hiddenDirs struct{ *cluster.Local }

func (hiddenDirs) DataDir(cluster.Node) string { return "/nonexistent/walstep-hidden" }

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
	p := NewPoller(hiddenDirs{l.b}, filepath.Join(t.TempDir(), "empty-storage"), PollerOptions{})
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
	if s := p.Poll(context.Background()); len(s.Histories) != 1 || s.Primary.Up {
		t.Errorf("after stop: up %v, histories %+v; want the history kept", s.Primary.Up, s.Histories)
	}
}
