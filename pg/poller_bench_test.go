package pg

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"walstep/cluster"
)

// BenchmarkPoll is one Poll of both servers on loopback: a running primary
// and a streaming standby cloned from it (kept connections, the status
// queries, the wal receiver and slots, 200 log lines of each, the archive
// and the history files). Budget (bench/README.md): under 5 ms.
//
//	go test -run '^$' -bench Poll -benchmem ./pg/
func BenchmarkPoll(b *testing.B) {
	l := newPGLab(b)
	l.startPrimary(b)
	l.startStandby(b)
	p := NewPoller(l.b, PollerOptions{})
	defer p.Close()
	pollUntil(b, p, 30*time.Second, "streaming standby", func(s Snapshot) bool { return s.Nodes[1].Role == RoleStreaming })
	fillLogs(b, l)
	b.ReportAllocs()
	ctx := context.Background()
	var s Snapshot
	for b.Loop() {
		s = p.Poll(ctx)
	}
	if !s.Nodes[0].Up || !s.Nodes[1].Up {
		b.Fatalf("a server was down during the benchmark: primary %s (%s), replica %s (%s)", s.Nodes[0].Summary(), s.Nodes[0].Err, s.Nodes[1].Summary(), s.Nodes[1].Err)
	}
}

// BenchmarkPollStandbyDown is one Poll while the standby is shut down: the
// primary over SQL, the standby from pg_controldata (re-run at most every
// ControlEvery, 2s by default, so most polls use the cached reading).
func BenchmarkPollStandbyDown(b *testing.B) {
	l := newPGLab(b)
	l.startPrimary(b)
	l.startStandby(b)
	if err := l.b.Stop(context.Background(), cluster.Replica, io.Discard); err != nil {
		b.Fatal(err)
	}
	fillLogs(b, l)
	p := NewPoller(l.b, PollerOptions{})
	defer p.Close()
	b.ReportAllocs()
	ctx := context.Background()
	var s Snapshot
	for b.Loop() {
		s = p.Poll(ctx)
	}
	if !s.Nodes[0].Up || s.Nodes[1].Control == nil {
		b.Fatalf("primary %s (%s), replica %s (%s)", s.Nodes[0].Summary(), s.Nodes[0].Err, s.Nodes[1].Summary(), s.Nodes[1].Err)
	}
}

// fillLogs appends 300 server-like lines to both logs, so each reading
// carries a full tail (LogLines, 200 by default) as in a long session.
func fillLogs(b *testing.B, l *pgLab) {
	b.Helper()
	for _, n := range cluster.SeedTopology().Nodes() {
		f, err := os.OpenFile(l.b.LogPath(n), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			b.Fatal(err)
		}
		for i := range 300 {
			fmt.Fprintf(f, "2026-01-01 00:00:00.000 UTC [%d] LOG:  restored log file \"%s\" from archive\n", 1000+i, WALFileName(1, LSN(i)*WALSegSize))
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
