package pg

import (
	"strings"
	"testing"
	"time"
)

// failoverEnd is the failover whose old primary archives, at its end: b
// promoted onto timeline 2 at 0/40000A0 while a, its declared upstream,
// stopped on timeline 1; c repointed to b but past the fork on timeline 1,
// refused by b; b's log holds c's refusal.
func failoverEnd(at time.Time) Snapshot {
	return Snapshot{Seq: 31, At: at,
		Nodes: []Reading{
			{Node: "a", At: at, Process: ProcStopped, Role: RoleShutDown,
				Control: &ControlData{State: "shut down", CheckpointLSN: mustLSN("0/4000180"), CheckpointTLI: 1}},
			{Node: "b", Upstream: "a", At: at, LastGood: at, Up: true, Process: ProcUp, Role: RolePrimary,
				FlushLSN: mustLSN("0/4000230"), Timeline: 2, TLISource: SrcCurrentWAL,
				LogTail: []string{"2026-12-01 00:10:00.100 UTC [4350] ERROR:  requested starting point 0/5000000 is ahead of the WAL flush position of this server 0/4000230"}},
			{Node: "c", Upstream: "b", Follows: "b", FollowsFrom: FromConninfo, At: at, LastGood: at, Up: true, Process: ProcUp,
				InRecovery: true, Role: RoleStandbyNoStream, ReplayLSN: mustLSN("0/5000000"), Timeline: 1, TLISource: SrcRestored,
				LogTail: []string{"2026-12-01 00:10:00.000 UTC [4349] FATAL:  could not start WAL streaming: ERROR:  requested starting point 0/5000000 is ahead of the WAL flush position of this server 0/4000230"}},
		},
		Histories: []History{{TLI: 2, File: "00000002.history", Entries: []HistoryEntry{{TLI: 1, Switch: mustLSN("0/40000A0"), Reason: "no recovery target specified"}}}},
	}
}

// verdictOf is standby's verdict in d.
func verdictOf(t *testing.T, d Diagnosis, standby string) StandbyVerdict {
	t.Helper()
	for _, sv := range d.Standbys {
		if sv.Standby == standby {
			return sv
		}
	}
	if d.Standby == standby {
		return StandbyVerdict{Pair: Pair{Standby: d.Standby, Upstream: d.Upstream}, Verdict: d.Verdict, Explanation: d.Explanation}
	}
	t.Fatalf("no verdict on %s: %+v", standby, d)
	return StandbyVerdict{}
}

// A fourth server d streams from b on timeline 2 at 0/4000230, short of
// the start 0/5000000 b refused: the refusal is c's (its own log says
// so, and d never asked from there), not d's.
func TestUpstreamRefusalAttributedToItsStandby(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 10, 1, 0, time.UTC)
	s := failoverEnd(at)
	s.Nodes = append(s.Nodes, Reading{Node: "d", Upstream: "b", Follows: "b", FollowsFrom: FromReceiver, At: at, LastGood: at,
		Up: true, Process: ProcUp, InRecovery: true, Role: RoleStreaming, ReplayLSN: mustLSN("0/4000230"), Timeline: 2, TLISource: SrcReceiver})
	d := Diagnose(DiagnoseInput{Snapshot: s})
	if v := verdictOf(t, d, "d"); v.Verdict == VerdictDiverged {
		t.Errorf("d, at 0/4000230 on b's timeline 2, judged diverged on c's refusal: %s", v.Explanation)
	}
	if v := verdictOf(t, d, "c"); v.Verdict != VerdictDiverged {
		t.Errorf("c: %s: %s", v.Verdict, v.Explanation)
	}
	if d.Standby != "c" || d.Verdict != VerdictDiverged {
		t.Errorf("verdict %s on %s", d.Verdict, d.Standby)
	}

	// Without c's own log line, c's position still places the refusal: c
	// is at the start it asked for, d short of it.
	s.Nodes[2].LogTail = nil
	d = Diagnose(DiagnoseInput{Snapshot: s})
	if v := verdictOf(t, d, "d"); v.Verdict == VerdictDiverged {
		t.Errorf("without c's log, d judged diverged: %s", v.Explanation)
	}
	if v := verdictOf(t, d, "c"); v.Verdict != VerdictDiverged {
		t.Errorf("without c's log, c: %s: %s", v.Verdict, v.Explanation)
	}

	// d streaming from b past the refused start (b has written on since):
	// b serves it, so the refusal is still c's alone.
	s.Nodes[1].FlushLSN = mustLSN("0/6000000")
	dd := &s.Nodes[3]
	dd.ReplayLSN, dd.ReceiveLSN = mustLSN("0/5800000"), mustLSN("0/5800000")
	dd.Receiver = &WalReceiver{Streaming: true, ReceivedTLI: 2, Proof: "its walsender on b streams"}
	d = Diagnose(DiagnoseInput{Snapshot: s})
	if v := verdictOf(t, d, "d"); v.Verdict != VerdictHealthy {
		t.Errorf("d, streaming past the refused start: %s: %s", v.Verdict, v.Explanation)
	}
	if v := verdictOf(t, d, "c"); v.Verdict != VerdictDiverged {
		t.Errorf("with d streaming past the start, c: %s: %s", v.Verdict, v.Explanation)
	}
}

// Two standbys of b, neither streaming, both at or past the start b
// refused, and neither's log says which it was: the refusal convicts
// neither, and each verdict says whose it may be.
func TestUpstreamRefusalOfUnknownStandby(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 10, 1, 0, time.UTC)
	s := failoverEnd(at)
	s.Nodes[2].LogTail = nil
	s.Nodes[2].Timeline, s.Nodes[2].ReplayLSN = 2, mustLSN("0/4000230")
	b := &s.Nodes[1]
	b.FlushLSN = mustLSN("0/6000000")
	b.LogTail = []string{"2026-12-01 00:10:00.100 UTC [4350] ERROR:  requested starting point 0/4000000 is ahead of the WAL flush position of this server 0/3FFFFFF"}
	e := s.Nodes[2]
	e.Node = "e"
	s.Nodes = append(s.Nodes, e)
	d := Diagnose(DiagnoseInput{Snapshot: s})
	for _, n := range []string{"c", "e"} {
		v := verdictOf(t, d, n)
		if v.Verdict == VerdictDiverged || v.Verdict == VerdictHealthy {
			t.Errorf("%s: %s on a refusal of one of c, e: %s", n, v.Verdict, v.Explanation)
		}
		if !strings.Contains(v.Explanation, "0/4000000") || !strings.Contains(v.Explanation, "c, e") {
			t.Errorf("%s's explanation does not name the refusal and whose it may be: %s", n, v.Explanation)
		}
	}
}

// b, promoted while a, the upstream it was declared to follow, is
// stopped, is the new primary, not a standby that split from a: only c,
// past b's fork, is diverged.
func TestPromotedStandbyOfAStoppedUpstreamIsThePrimary(t *testing.T) {
	s := failoverEnd(time.Date(2026, 12, 1, 0, 10, 1, 0, time.UTC))
	d := Diagnose(DiagnoseInput{Snapshot: s})
	if d.Verdict != VerdictDiverged || d.Standby != "c" || d.Upstream != "b" {
		t.Fatalf("verdict %s on %s against %s: %s", d.Verdict, d.Standby, d.Upstream, d.Explanation)
	}
	for _, sv := range d.Standbys {
		if sv.Standby == "b" && sv.Verdict == VerdictDiverged {
			t.Errorf("b, the promoted new primary, judged diverged: %s", sv.Explanation)
		}
	}
	if strings.Contains(d.Explanation, "split") || !strings.Contains(d.Explanation, "b runs as a primary while a, the node it was declared to follow, is stopped: it was promoted and is the new primary") {
		t.Errorf("explanation: %s", d.Explanation)
	}

	// a running as a primary again while b is one: both accept writes,
	// a split brain, and b is judged against a as before.
	at := s.At
	s.Nodes[0] = Reading{Node: "a", At: at, LastGood: at, Up: true, Process: ProcUp, Role: RolePrimary,
		FlushLSN: mustLSN("0/4000200"), Timeline: 1, TLISource: SrcCurrentWAL}
	d = Diagnose(DiagnoseInput{Snapshot: s})
	if v := verdictOf(t, d, "b"); v.Verdict != VerdictDiverged || !strings.Contains(v.Explanation, "left recovery and runs as a primary") {
		t.Errorf("b, a primary while a is one: %s: %s", v.Verdict, v.Explanation)
	}
}
