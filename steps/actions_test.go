package steps

import (
	"context"
	"strings"
	"testing"

	"walstep/cluster"
)

// logOnly is a Backend whose only working method is LogTail.
type logOnly struct {
	cluster.Backend
	lines []string
}

func (b logOnly) LogTail(_ context.Context, _ cluster.Node, n int) ([]string, error) {
	if len(b.lines) > n {
		return b.lines[len(b.lines)-n:], nil
	}
	return b.lines, nil
}

// A failed step quotes the server's log without its timestamp and pid:
// in the debugger the error has two lines, and the prefix used a third
// of them before the message that says what is wrong.
func TestLastLogHintDropsLogPrefix(t *testing.T) {
	b := logOnly{lines: []string{
		`2026-11-25 23:02:13.917 UTC [24372] LOG:  syntax error in file "/lab/primary-config/primary_restore.conf" line 6, near token "oops"`,
		`2026-11-25 23:02:13.917 UTC [24372] FATAL:  configuration file "/lab/primary-data/postgresql.conf" contains errors`,
	}}
	got := lastLogHint(context.Background(), b, cluster.Primary)
	want := `; its log says: LOG:  syntax error in file "/lab/primary-config/primary_restore.conf" line 6, near token "oops" / FATAL:  configuration file "/lab/primary-data/postgresql.conf" contains errors`
	if got != want {
		t.Errorf("hint\n got %q\nwant %q", got, want)
	}
	b.lines = []string{`2026-11-25 23:00:17.279 UTC [24372] HINT:  Execute pg_wal_replay_resume() to promote.`}
	if got := lastLogHint(context.Background(), b, cluster.Primary); got != "; its log ends: HINT:  Execute pg_wal_replay_resume() to promote." {
		t.Errorf("hint %q", got)
	}
	// WAL-G's routine miss after the server's last line is not the hint.
	b.lines = []string{
		`2026-11-30 07:35:19.100 UTC [24372] LOG:  entering standby mode`,
		`ERROR: 2026/11/30 07:35:19.431523 Archive '00000003.history' does not exist.`,
	}
	if got := lastLogHint(context.Background(), b, cluster.Replica); got != "; its log ends: LOG:  entering standby mode" {
		t.Errorf("hint %q quotes the archiver", got)
	}
	if strings.Contains(lastLogHint(context.Background(), logOnly{}, cluster.Primary), "log") {
		t.Error("a hint without a log")
	}
}

// A full disk: the PANIC that says so is the hint, not the refusals that
// probes met while the server restarted after it.
func TestLastLogHintQuotesThePanic(t *testing.T) {
	b := logOnly{lines: []string{
		`2026-11-30 09:00:01.000 UTC [100] PANIC:  could not write to file "pg_wal/xlogtemp.100": No space left on device`,
		`2026-11-30 09:00:01.100 UTC [90] LOG:  server process (PID 100) was terminated by signal 6: Aborted`,
		`2026-11-30 09:00:01.200 UTC [90] LOG:  all server processes terminated; reinitializing`,
		`2026-11-30 09:00:01.300 UTC [101] FATAL:  the database system is in recovery mode`,
		`2026-11-30 09:00:01.400 UTC [102] FATAL:  the database system is not yet accepting connections`,
	}}
	got := lastLogHint(context.Background(), b, cluster.Primary)
	if !strings.Contains(got, "PANIC:") || !strings.Contains(got, "No space left on device") {
		t.Errorf("hint %q, want the PANIC", got)
	}
}

// A stream's proof names the node streamed from: server b, a standby of a
// cascade, not "the primary"; the seed's primary keeps its words.
func TestProofFrom(t *testing.T) {
	p := "the primary's walsender (pid 7) streams to it, sent up to 0/3000000"
	if got := proofFrom("b", p); got != "server b's walsender (pid 7) streams to it, sent up to 0/3000000" {
		t.Errorf("from b: %q", got)
	}
	if got := proofFrom(cluster.Primary, p); got != p {
		t.Errorf("from the primary: %q", got)
	}
}
