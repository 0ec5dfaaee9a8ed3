package pg

import (
	"strings"
	"testing"
	"time"
)

// doublePromotionEnd is the double promotion at its end: b promoted onto
// timeline 2 at 0/3000060 while a kept writing timeline 1, a restarted as
// b's standby and refused; the archive holds a's timeline-1 segment of the
// fork, not b's.
func doublePromotionEnd(at time.Time) Snapshot {
	return Snapshot{Seq: 40, At: at,
		Nodes: []Reading{
			{Node: "a", Upstream: "b", At: at, Process: ProcStopped, Role: RoleShutDown,
				Control: &ControlData{State: "shut down", CheckpointLSN: mustLSN("0/5000028"), CheckpointTLI: 1}},
			{Node: "b", At: at, LastGood: at, Up: true, Process: ProcUp, Role: RolePrimary,
				FlushLSN: mustLSN("0/302AAB0"), Timeline: 2, TLISource: SrcCurrentWAL},
		},
		Histories: []History{{TLI: 2, File: "00000002.history", Entries: []HistoryEntry{{TLI: 1, Switch: mustLSN("0/3000060"), Reason: "no recovery target specified"}}}},
		Archive: Archive{WAL: []ArchiveFile{
			{Name: "000000010000000000000003", TLI: 1, Size: 16 << 20},
			{Name: "00000002.history", TLI: 2, History: true, Size: 42},
		}},
	}
}

// A standby that diverged because it ran as a primary past the fork (two
// promotions) is said to have written that WAL, not to have restored the
// old timeline's segment from the archive, which it never did.
func TestDivergedByWritingAsAPrimary(t *testing.T) {
	end := time.Date(2026, 12, 2, 1, 0, 40, 0, time.UTC)
	s := doublePromotionEnd(end)
	// Without an earlier poll of a as a primary, the archive's words stand.
	d := Diagnose(DiagnoseInput{Snapshot: s})
	if d.Verdict != VerdictDiverged || d.Standby != "a" || !strings.Contains(d.Cause, "fell back to timeline 1's complete segment") {
		t.Fatalf("without a's past: %s on %s, cause %q", d.Verdict, d.Standby, d.Cause)
	}

	// An earlier poll: a a primary on timeline 1 at 0/4000060, past b's fork.
	was := doublePromotionEnd(end.Add(-30 * time.Second))
	was.Nodes[0] = Reading{Node: "a", Upstream: "b", At: was.At, LastGood: was.At, Up: true, Process: ProcUp, Role: RolePrimary,
		FlushLSN: mustLSN("0/4000060"), Timeline: 1, TLISource: SrcCurrentWAL}
	d = Diagnose(DiagnoseInput{Snapshot: s, Earlier: []Snapshot{was}})
	if d.Verdict != VerdictDiverged || d.Standby != "a" {
		t.Fatalf("verdict %s on %s: %s", d.Verdict, d.Standby, d.Explanation)
	}
	for _, want := range []string{"Standby a wrote that WAL itself", "ran as a primary on timeline 1, seen at 01:00:10 with its WAL at 0/4000060", "split brain"} {
		if !strings.Contains(d.Cause, want) {
			t.Errorf("cause lacks %q: %s", want, d.Cause)
		}
	}
	if strings.Contains(d.Cause, "fell back") || strings.Contains(d.Cause, "restore_command fetched") {
		t.Errorf("cause says a restored what it wrote: %s", d.Cause)
	}
	if !strings.Contains(d.Explanation, "standby a has written, as a primary, timeline 1 up to 0/5000028") || strings.Contains(d.Explanation, "replayed") {
		t.Errorf("explanation: %s", d.Explanation)
	}
	if !d.WrotePastFork {
		t.Error("WrotePastFork not set")
	}

	// While both run as primaries, a never left recovery: it runs as one.
	d = Diagnose(DiagnoseInput{Snapshot: was})
	if d.Verdict != VerdictDiverged || !d.WrotePastFork || !strings.Contains(d.Explanation, "Standby a runs as a primary on timeline 1") || strings.Contains(d.Explanation, "left recovery") {
		t.Errorf("both primaries: %s: %s", d.Verdict, d.Explanation)
	}
}

// Before the nodes swap places, a primary the playbook makes a standby of
// its own standby is no standby: a, primary, with b streaming from it, is
// judged as b's upstream, not said to restore from the archive.
func TestPrimaryDeclaredStandbyOfItsStandby(t *testing.T) {
	at := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	s := Snapshot{Seq: 20, At: at, Nodes: []Reading{
		{Node: "a", Upstream: "b", At: at, LastGood: at, Up: true, Process: ProcUp, Role: RolePrimary,
			FlushLSN: mustLSN("0/3000060"), Timeline: 1, TLISource: SrcCurrentWAL},
		{Node: "b", At: at, LastGood: at, Up: true, Process: ProcUp, InRecovery: true, Role: RoleStreaming,
			ReplayLSN: mustLSN("0/3000060"), ReceiveLSN: mustLSN("0/3000060"), Timeline: 1, TLISource: SrcReceiver,
			Receiver: &WalReceiver{Status: "streaming", ReceivedTLI: 1, FlushedLSN: mustLSN("0/3000060"), SenderHost: "127.0.0.1", SenderPort: 5001, Streaming: true, Proof: "a's walsender streams to it"}},
	}}
	s.resolveUpstreams(map[string]string{"a": "127.0.0.1:5001", "b": "127.0.0.1:5002"})
	d := Diagnose(DiagnoseInput{Snapshot: s})
	if d.Verdict != VerdictHealthy || d.Standby != "b" || d.Upstream != "a" || len(d.Standbys) != 0 {
		t.Fatalf("verdict %s on %q against %q (%d standbys): %s", d.Verdict, d.Standby, d.Upstream, len(d.Standbys), d.Explanation)
	}
	if strings.Contains(d.Explanation, "Standby a") || strings.Contains(d.Explanation, "restores from the archive") {
		t.Errorf("a, a primary, is judged as a standby: %s", d.Explanation)
	}
}

// The proof's line of the WAL past the fork says a standby run as a
// primary there wrote it.
func TestProofPastForkOfAStandbyThatWrote(t *testing.T) {
	w := &WALAtFork{ForkLSN: mustLSN("0/3000000"), ReplicaLSN: mustLSN("0/4000060"), Wrote: true}
	w.Timeline, w.Total = 1, 2
	w.Records = []WALRecord{{LSN: mustLSN("0/3000028"), Rmgr: "XLOG", Type: "SWITCH"}, {LSN: mustLSN("0/4000028"), Rmgr: "Standby", Type: "RUNNING_XACTS"}}
	if s, _ := pastFork(w, "standby a"); !strings.HasPrefix(s, "Standby a wrote, as a primary, 2 records of timeline 1 past the fork at 0/3000000") {
		t.Errorf("past the fork: %s", s)
	}
}

// A promoted node's primary_conninfo still names its old upstream; that
// does not make it follow anything: a, a primary the playbook makes b's
// standby, is judged against b, promoted, as a split brain.
func TestPromotedConninfoDoesNotExcuseTheOldPrimary(t *testing.T) {
	at := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	s := Snapshot{Seq: 30, At: at, Nodes: []Reading{
		{Node: "a", Upstream: "b", At: at, LastGood: at, Up: true, Process: ProcUp, Role: RolePrimary,
			FlushLSN: mustLSN("0/4000060"), Timeline: 1, TLISource: SrcCurrentWAL},
		{Node: "b", At: at, LastGood: at, Up: true, Process: ProcUp, Role: RolePrimary, ConnHost: "127.0.0.1", ConnPort: "5001",
			FlushLSN: mustLSN("0/3000108"), Timeline: 2, TLISource: SrcCurrentWAL},
	}, Histories: []History{{TLI: 2, File: "00000002.history", Entries: []HistoryEntry{{TLI: 1, Switch: mustLSN("0/3000000")}}}}}
	s.resolveUpstreams(map[string]string{"a": "127.0.0.1:5001", "b": "127.0.0.1:5002"})
	d := Diagnose(DiagnoseInput{Snapshot: s})
	if d.Verdict != VerdictDiverged || d.Standby != "a" {
		t.Errorf("verdict %s on %q: %s", d.Verdict, d.Standby, d.Explanation)
	}
}
