package pg

import (
	"strings"
	"testing"
)

// refusedWindow is the default lab's replica in the ~40 ms between its wal
// receiver starting and the primary refusing its start point, as the
// servers answer then (PostgreSQL 15): the receiver says "streaming" on
// timeline 2 at 0/3000000, the primary has no walsender streaming, and the
// replica's log already says "started streaming" but not yet the FATAL.
func refusedWindow(t *testing.T) Snapshot {
	t.Helper()
	s := loadSnap(t, "default_end.json")
	var tail []string
	for _, l := range s.Nodes[1].LogTail {
		if strings.Contains(l, "could not receive data from WAL stream") {
			break
		}
		tail = append(tail, l)
	}
	s.Nodes[1].LogTail = tail
	s.Nodes[1].Role = RoleStandbyNoStream // as classify leaves it
	s.Nodes[1].Timeline, s.Nodes[1].TLISource = 1, SrcRestored
	s.Nodes[1].ReplayLSN, s.Nodes[1].ReceiveLSN = 0x3000000, 0x3000000
	s.Nodes[1].Receiver = &WalReceiver{Status: "streaming", ReceivedTLI: 2, FlushedLSN: 0x3000000,
		StartLSN: 0x3000000, StartTLI: 2, SenderHost: "127.0.0.1", SlotName: "replica"}
	s.Nodes[0].WalSenders = []WalSender{{PID: 4242, State: "catchup", AppName: "walreceiver", ClientAddr: "127.0.0.1"}}
	s.Nodes[0].Slots = []Slot{{Name: "replica", Active: true, ActivePID: 4242}}
	return s
}

func TestStreamingNeedsThePrimarysWalsender(t *testing.T) {
	s := refusedWindow(t)
	if !strings.Contains(strings.Join(s.Nodes[1].LogTail, "\n"), "started streaming WAL from primary at 0/3000000 on timeline 2") {
		t.Fatalf("test data: the replica's log lacks the started streaming line")
	}
	s.confirmStreaming()
	r := s.Nodes[1]
	if r.Streams() || r.Role == RoleStreaming || r.Timeline == 2 || r.TLISource == SrcReceiver {
		t.Fatalf("refused receiver taken for streaming: streams %v role %s timeline %d (%s)", r.Streams(), r.Role, r.Timeline, r.TLISource)
	}
	d := Diagnose(DiagnoseInput{Snapshot: s})
	if d.Verdict == VerdictHealthy || d.ReplicaTimeline == 2 {
		t.Fatalf("verdict %s on timeline %d: %s", d.Verdict, d.ReplicaTimeline, d.Explanation)
	}
	if d.Verdict != VerdictDiverged {
		t.Errorf("verdict %s, want diverged (timeline 1 at 0/3000000 is past the fork): %s", d.Verdict, d.Explanation)
	}

	// Even with the receiver's timeline (as a poll before this fix read
	// it), an unconfirmed receiver does not make the replica healthy.
	s = refusedWindow(t)
	s.Nodes[1].Timeline, s.Nodes[1].TLISource = 2, SrcReceiver
	s.confirmStreaming()
	if d := Diagnose(DiagnoseInput{Snapshot: s}); d.Verdict == VerdictHealthy {
		t.Fatalf("verdict healthy for a receiver the primary has not accepted: %s", d.Explanation)
	}

	// The primary's walsender in state streaming is the proof.
	s = refusedWindow(t)
	s.Nodes[0].WalSenders[0].State, s.Nodes[0].WalSenders[0].SentLSN = "streaming", 0x30000A0
	s.confirmStreaming()
	if r := s.Nodes[1]; !r.Streams() || r.Role != RoleStreaming || r.Timeline != 2 || r.TLISource != SrcReceiver {
		t.Errorf("confirmed stream: streams %v role %s timeline %d (%s)", r.Streams(), r.Role, r.Timeline, r.TLISource)
	}
}

func TestStreamProof(t *testing.T) {
	rc := &WalReceiver{Status: "streaming", ReceivedTLI: 2, StartLSN: 0x3000000, SlotName: "replica"}
	slots := []Slot{{Name: "replica", Active: true, ActivePID: 7}}
	for _, tc := range []struct {
		name    string
		rc      *WalReceiver
		senders []WalSender
		slots   []Slot
		want    string // "" for no proof
	}{
		{"no receiver", nil, []WalSender{{PID: 7, State: "streaming"}}, slots, ""},
		{"receiver only", rc, nil, nil, ""},
		{"walsender in catchup", rc, []WalSender{{PID: 7, State: "catchup"}}, slots, ""},
		{"another standby's walsender", rc, []WalSender{{PID: 8, State: "streaming"}}, slots, ""},
		{"the slot holder streams", rc, []WalSender{{PID: 8, State: "catchup"}, {PID: 7, State: "streaming"}}, slots, "walsender (pid 7)"},
		{"no slot listed", rc, []WalSender{{PID: 9, State: "streaming"}}, nil, "walsender (pid 9)"},
		{"WAL written past the start", &WalReceiver{Status: "streaming", StartLSN: 0x3000000, WrittenLSN: 0x30000A0}, nil, nil, "received WAL from 0/3000000 up to 0/30000A0"},
		{"written only up to the start", &WalReceiver{Status: "streaming", StartLSN: 0x3000000, WrittenLSN: 0x3000000}, nil, nil, ""},
		{"receiver not streaming", &WalReceiver{Status: "waiting", StartLSN: 0x3000000, WrittenLSN: 0x30000A0}, []WalSender{{PID: 7, State: "streaming"}}, slots, ""},
	} {
		got := StreamProof(tc.rc, tc.senders, tc.slots)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: proof %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A replica whose receiver keeps starting and dying, with no receiver
// seen between, is not healthy either.
func TestReceiverThatKeepsDyingIsNotHealthy(t *testing.T) {
	s := loadSnap(t, "healthy_end.json")
	s.Nodes[1].Receiver = nil
	s.Nodes[1].Role = RoleStandbyNoStream
	s.Nodes[1].LogTail = append(s.Nodes[1].LogTail,
		"2026-11-25 21:50:41.100 UTC [27700] LOG:  started streaming WAL from primary at 0/3000000 on timeline 2",
		"2026-11-25 21:50:41.140 UTC [27700] FATAL:  could not receive data from WAL stream: server closed the connection unexpectedly",
		"2026-11-25 21:50:46.100 UTC [27701] LOG:  started streaming WAL from primary at 0/3000000 on timeline 2",
		"2026-11-25 21:50:46.140 UTC [27701] FATAL:  could not receive data from WAL stream: server closed the connection unexpectedly")
	d := Diagnose(DiagnoseInput{Snapshot: s})
	if d.Verdict == VerdictHealthy {
		t.Fatalf("verdict healthy for a receiver that keeps dying: %s", d.Explanation)
	}
	if !hasEvidence(d, "replica", "started") {
		t.Errorf("evidence %q lacks the receiver's restarts", d.Evidence)
	}
}
