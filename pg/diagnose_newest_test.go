package pg

import (
	"strings"
	"testing"
)

// A refusal repeated while the primary writes on names a new flush
// position each time: the diagnosis quotes the newest, counting them all.
func TestDivergingQuotesTheNewestRefusal(t *testing.T) {
	tail := []string{
		"2026-12-01 20:59:53.636 UTC [100] FATAL:  could not receive data from WAL stream: ERROR:  requested starting point 0/3000000 is ahead of the WAL flush position of this server 0/2000178",
		"2026-12-01 20:59:58.636 UTC [101] FATAL:  could not receive data from WAL stream: ERROR:  requested starting point 0/3000000 is ahead of the WAL flush position of this server 0/2000178",
		"2026-12-01 21:00:03.636 UTC [102] FATAL:  could not receive data from WAL stream: ERROR:  requested starting point 0/3000000 is ahead of the WAL flush position of this server 0/2A01000",
	}
	j := newJudge(DiagnoseInput{Snapshot: Snapshot{Nodes: SeedNodes(Reading{}, Reading{LogTail: tail})}}, Pair{Upstream: "primary", Standby: "replica"})
	j.readLogs()
	if len(j.diverging) != 1 {
		t.Fatalf("diverging findings %d, want one per node and kind: %+v", len(j.diverging), j.diverging)
	}
	f := j.diverging[0]
	if !strings.HasSuffix(f.Message(), "0/2A01000") || f.Repeats != 3 {
		t.Errorf("quoted %q (x%d), want the newest refusal, x3", f.Message(), f.Repeats)
	}
}
