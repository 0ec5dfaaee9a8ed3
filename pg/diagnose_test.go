package pg

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func loadSnap(t *testing.T, name string) Snapshot {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "snapshots", name))
	if err != nil {
		t.Fatal(err)
	}
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func loadSeries(t *testing.T, name string) []Snapshot {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "snapshots", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Snapshot
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var s Snapshot
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func hasEvidence(d Diagnosis, parts ...string) bool {
	for _, e := range d.Evidence {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(e, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func TestDiagnoseDefaultLabDiverged(t *testing.T) {
	d := Diagnose(DiagnoseInput{Snapshot: loadSnap(t, "default_end.json")})
	if d.Verdict != VerdictDiverged {
		t.Fatalf("verdict %s: %s", d.Verdict, d.Explanation)
	}
	if d.ForkLSN != 0x2000100 || d.ForkParent != 1 || d.ForkTimeline != 2 {
		t.Errorf("fork %s %d->%d, want 0/2000100 1->2", d.ForkLSN, d.ForkParent, d.ForkTimeline)
	}
	if d.ReplicaLSN != 0x3000000 || d.ReplicaTimeline != 1 {
		t.Errorf("replica %s on %d, want 0/3000000 on 1", d.ReplicaLSN, d.ReplicaTimeline)
	}
	if !hasEvidence(d, "00000002.history", "0/2000100", "reached consistency") {
		t.Errorf("no history evidence in %q", d.Evidence)
	}
	if !hasEvidence(d, "replica log", "ahead of the WAL flush position", "(x") {
		t.Errorf("no deduplicated log evidence in %q", d.Evidence)
	}
	for _, want := range []string{"000000010000000000000002 whole", "000000020000000000000002", "0/2000100"} {
		if !strings.Contains(d.Cause, want) {
			t.Errorf("cause %q lacks %q", d.Cause, want)
		}
	}
	if !strings.Contains(d.Explanation, "0/3000000") || !strings.Contains(d.Explanation, "rebuilt") {
		t.Errorf("explanation %q", d.Explanation)
	}
	for _, f := range d.Findings {
		if f.Severity == SevInfo {
			t.Errorf("info finding kept: %s", f.Kind)
		}
	}
}

func TestDiagnosisJSONShape(t *testing.T) {
	d := Diagnose(DiagnoseInput{Snapshot: loadSnap(t, "default_end.json")})
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["verdict"] != "diverged" || m["fork_lsn"] != "0/2000100" || m["replica_lsn"] != "0/3000000" {
		t.Errorf("got verdict %v fork_lsn %v replica_lsn %v", m["verdict"], m["fork_lsn"], m["replica_lsn"])
	}
	if _, ok := m["evidence"].([]any); !ok {
		t.Errorf("evidence is %T", m["evidence"])
	}
	if s, _ := m["explanation"].(string); s == "" {
		t.Error("no explanation")
	}
	// An empty diagnosis still has an evidence array, not null.
	b, _ = json.Marshal(Diagnose(DiagnoseInput{}))
	if !strings.Contains(string(b), `"evidence":[]`) || !strings.Contains(string(b), `"verdict":"unknown"`) {
		t.Errorf("empty diagnosis %s", b)
	}
}

func TestDiagnoseHealthyVariant(t *testing.T) {
	d := Diagnose(DiagnoseInput{Snapshot: loadSnap(t, "healthy_end.json")})
	if d.Verdict != VerdictHealthy {
		t.Fatalf("verdict %s: %s %q", d.Verdict, d.Explanation, d.Evidence)
	}
	if d.ForkLSN != 0x3000000 || d.ReplicaTimeline != 2 {
		t.Errorf("fork %s, replica timeline %d", d.ForkLSN, d.ReplicaTimeline)
	}
	if !strings.Contains(d.Explanation, "streams from the primary") {
		t.Errorf("explanation %q", d.Explanation)
	}
	if d.Cause != "" {
		t.Errorf("cause on a healthy lab: %q", d.Cause)
	}
}

// A replica that cannot stream (replica_standby.conf names a slot the
// primary lacks, or a wrong password) is not healthy, though it has not
// passed the fork: the verdict says what stops it.
func TestDiagnoseReplicaCannotStream(t *testing.T) {
	for _, tc := range []struct{ snap, line, explains string }{
		{"badslot_end.json", `replication slot "nosuch" does not exist`, `primary_slot_name is "nosuch"`},
		{"badpassword_end.json", `password authentication failed for user "postgres"`, "primary_conninfo"},
	} {
		s := loadSnap(t, tc.snap)
		d := Diagnose(DiagnoseInput{Snapshot: s})
		if d.Verdict == VerdictHealthy || d.Verdict == VerdictDiverged {
			t.Errorf("%s: verdict %s: %s", tc.snap, d.Verdict, d.Explanation)
			continue
		}
		if !strings.Contains(d.Explanation, "cannot stream") || !strings.Contains(d.Explanation, tc.explains) {
			t.Errorf("%s: explanation %q lacks why it cannot stream (%s)", tc.snap, d.Explanation, tc.explains)
		}
		if !hasEvidence(d, "replica log", tc.line) {
			t.Errorf("%s: evidence %q lacks the replica's log line", tc.snap, d.Evidence)
		}
		// Once it streams (the conf fixed, the replica restarted), the old
		// lines of its log no longer count.
		s.Nodes[1].LogTail = append(s.Nodes[1].LogTail, readLog(t, "healthy_replica.log")...)
		s.Nodes[1].Receiver = &WalReceiver{Status: "streaming", ReceivedTLI: 2, Streaming: true, Proof: "the primary's walsender streams to it"}
		s.Nodes[1].Timeline = 2
		if d := Diagnose(DiagnoseInput{Snapshot: s}); d.Verdict != VerdictHealthy {
			t.Errorf("%s streaming again: verdict %s: %s", tc.snap, d.Verdict, d.Explanation)
		}
	}
	// A restart without primary_conninfo, restoring from the archive only:
	// the failures of the previous start are history.
	s := loadSnap(t, "badslot_end.json")
	s.Nodes[1].LogTail = append(s.Nodes[1].LogTail,
		"2026-11-25 22:58:41.748 UTC [16315] LOG:  starting PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14+deb12u1) 12.2.0, 64-bit",
		"2026-11-25 22:58:41.755 UTC [16318] LOG:  entering standby mode")
	if d := Diagnose(DiagnoseInput{Snapshot: s}); d.Verdict != VerdictHealthy {
		t.Errorf("after a restart: verdict %s: %s", d.Verdict, d.Explanation)
	}
}

func TestDiagnoseReplicaStoppedIsUnknown(t *testing.T) {
	s := loadSnap(t, "default_after_f2.json")
	s.Nodes[1].Process, s.Nodes[1].ProcDetail = ProcStopped, "exited with code 0"
	d := Diagnose(DiagnoseInput{Snapshot: s})
	if d.Verdict != VerdictUnknown {
		t.Fatalf("verdict %s: %s", d.Verdict, d.Explanation)
	}
	if d.ReplicaLSN != 0x2000100 || !strings.Contains(d.Explanation, "not running") {
		t.Errorf("replica %s, explanation %q", d.ReplicaLSN, d.Explanation)
	}
}

// A replica whose postmaster.pid says starting is starting, not "not
// running": it runs, it only does not accept connections yet.
func TestDiagnoseReplicaStartingSaysStarting(t *testing.T) {
	s := loadSnap(t, "default_after_f2.json")
	s.Nodes[1].Process = ProcStarting
	d := Diagnose(DiagnoseInput{Snapshot: s})
	if d.Verdict != VerdictUnknown || !strings.Contains(d.Explanation, "The replica is starting") || strings.Contains(d.Explanation, "not running") {
		t.Errorf("verdict %s, explanation %q", d.Verdict, d.Explanation)
	}
}

func TestDiagnoseStalled(t *testing.T) {
	ser := loadSeries(t, "stall_series.jsonl")
	cur, earlier := ser[len(ser)-1], ser[:len(ser)-1]
	d := Diagnose(DiagnoseInput{Snapshot: cur, Earlier: earlier, Options: DiagnoseOptions{StallAfter: 30 * time.Second}})
	if d.Verdict != VerdictStalled {
		t.Fatalf("verdict %s: %s", d.Verdict, d.Explanation)
	}
	if !strings.Contains(d.Explanation, "000000020000000000000003") {
		t.Errorf("explanation lacks the missing segment: %q", d.Explanation)
	}
	if !hasEvidence(d, "0/3000000", "0/30000A0", "0/3015C78") {
		t.Errorf("evidence %q", d.Evidence)
	}

	// Longer patience: the replica sits at the fork point, still able to follow.
	d = Diagnose(DiagnoseInput{Snapshot: cur, Earlier: earlier, Options: DiagnoseOptions{StallAfter: time.Hour}})
	if d.Verdict != VerdictHealthy {
		t.Errorf("with an hour's patience: %s: %s", d.Verdict, d.Explanation)
	}

	// The first three polls: the primary has not moved, so not stalled
	// however short the patience.
	d = Diagnose(DiagnoseInput{Snapshot: ser[2], Earlier: ser[:2], Options: DiagnoseOptions{StallAfter: time.Second}})
	if d.Verdict == VerdictStalled {
		t.Errorf("stalled although the primary did not move: %s", d.Explanation)
	}
}

func TestDiagnoseCauseFromEarlierArchive(t *testing.T) {
	before := loadSnap(t, "default_end.json")
	now := loadSnap(t, "default_end.json")
	now.At = now.At.Add(time.Minute)
	now.Archive.WAL = append(now.Archive.WAL, ArchiveFile{Name: "000000020000000000000002", TLI: 2, Start: 0x2000000, Size: WALSegSize})
	d := Diagnose(DiagnoseInput{Snapshot: now, Earlier: []Snapshot{before}})
	if !strings.HasPrefix(d.Cause, "At 21:50:29 the archive held") {
		t.Errorf("cause %q", d.Cause)
	}
	// Without earlier snapshots the replica's log still shows it.
	d = Diagnose(DiagnoseInput{Snapshot: now})
	if !strings.Contains(d.Cause, "log shows") {
		t.Errorf("cause %q", d.Cause)
	}
	// Nothing shows it: no cause rather than a guess.
	now.Nodes[1].LogTail = nil
	d = Diagnose(DiagnoseInput{Snapshot: now})
	if d.Verdict != VerdictDiverged || d.Cause != "" {
		t.Errorf("verdict %s cause %q", d.Verdict, d.Cause)
	}
}

func TestDiagnoseLogAloneProvesDivergence(t *testing.T) {
	// Positions that look fine (replica reported on timeline 2 and not
	// ahead), but the replica's log says the primary refused it.
	s := loadSnap(t, "healthy_end.json")
	s.Nodes[1].LogTail = readLog(t, "notinhistory_replica.log")
	d := Diagnose(DiagnoseInput{Snapshot: s})
	if d.Verdict != VerdictDiverged || !strings.Contains(d.Explanation, "PostgreSQL reports") {
		t.Fatalf("verdict %s: %s", d.Verdict, d.Explanation)
	}
	if !hasEvidence(d, "replica log", "not in this server's history") {
		t.Errorf("evidence %q", d.Evidence)
	}
	for _, name := range []string{"forked_replica.log", "minrecovery_replica.log", "notachild_replica.log"} {
		s.Nodes[1].LogTail = readLog(t, name)
		if d := Diagnose(DiagnoseInput{Snapshot: s}); d.Verdict != VerdictDiverged {
			t.Errorf("%s: verdict %s", name, d.Verdict)
		}
	}
	s.Nodes[1].LogTail = readLog(t, "notreached_primary.log")
	if d := Diagnose(DiagnoseInput{Snapshot: s}); d.Verdict != VerdictHealthy || len(d.Findings) == 0 {
		t.Errorf("recovery target not reached: verdict %s, findings %d", d.Verdict, len(d.Findings))
	}
}

func TestDiagnoseSameNewTimeline(t *testing.T) {
	s := loadSnap(t, "healthy_end.json")
	s.Nodes[0].LogTail = readLog(t, "promote_primary.log")
	s.Nodes[1].LogTail = readLog(t, "promote_replica.log")[:3] // before its refused stream
	d := Diagnose(DiagnoseInput{Snapshot: s})
	if d.Verdict != VerdictDiverged {
		t.Fatalf("verdict %s", d.Verdict)
	}
	f, ok := findKind(d.Findings, FindSameNewTimeline)
	if !ok || f.Timeline != 2 || !strings.Contains(f.Line, "primary: LOG:  selected new timeline ID: 2") {
		t.Errorf("finding %+v", f)
	}
}

func TestDiagnosePromotedReplica(t *testing.T) {
	s := loadSnap(t, "healthy_end.json")
	s.Nodes[1].InRecovery, s.Nodes[1].FlushLSN, s.Nodes[1].Timeline = false, 0x3000100, 3
	d := Diagnose(DiagnoseInput{Snapshot: s})
	if d.Verdict != VerdictDiverged || !strings.Contains(d.Explanation, "left recovery") {
		t.Fatalf("verdict %s: %s", d.Verdict, d.Explanation)
	}
	if !hasEvidence(d, "timeline 3 is not in 00000002.history") {
		t.Errorf("evidence %q", d.Evidence)
	}
}

func TestDiagnoseAheadNeedsOrderedReadings(t *testing.T) {
	s := loadSnap(t, "healthy_end.json")
	s.Nodes[0].LogTail, s.Nodes[1].LogTail = nil, nil
	t0 := s.At
	s.Nodes[0].At, s.Nodes[1].At = t0, t0.Add(10*time.Millisecond)
	s.Nodes[0].FlushLSN, s.Nodes[1].ReplayLSN = 0x3000100, 0x3000180
	// Read after the primary: the replica may have caught up with WAL the
	// primary wrote in between. Not proof.
	if d := Diagnose(DiagnoseInput{Snapshot: s}); d.Verdict == VerdictDiverged {
		t.Fatalf("diverged on a race: %s", d.Explanation)
	}
	// An earlier replica reading beyond a later primary reading is proof.
	e := s
	e.At = t0.Add(-time.Second)
	e.Nodes[1].At = t0.Add(-time.Second)
	d := Diagnose(DiagnoseInput{Snapshot: s, Earlier: []Snapshot{e}})
	if d.Verdict != VerdictDiverged || !strings.Contains(d.Explanation, "ahead of the primary") {
		t.Fatalf("verdict %s: %s", d.Verdict, d.Explanation)
	}
}

func TestDiagnoseUnknowns(t *testing.T) {
	if d := Diagnose(DiagnoseInput{}); d.Verdict != VerdictUnknown || !strings.Contains(d.Explanation, "primary") {
		t.Errorf("empty: %s %q", d.Verdict, d.Explanation)
	}
	s := loadSnap(t, "default_end.json")
	s.Nodes[1] = Reading{Node: "replica", Upstream: "primary", Process: ProcNone}
	s.Nodes[0].LogTail = nil
	if d := Diagnose(DiagnoseInput{Snapshot: s}); d.Verdict != VerdictUnknown || !strings.Contains(d.Explanation, "replica") {
		t.Errorf("no replica: %s %q", d.Verdict, d.Explanation)
	}
	s = loadSnap(t, "default_end.json")
	s.Histories, s.Nodes[1].LogTail, s.Nodes[0].LogTail = nil, nil, nil
	if d := Diagnose(DiagnoseInput{Snapshot: s}); d.Verdict != VerdictUnknown || !strings.Contains(d.Explanation, "00000002.history") {
		t.Errorf("no history: %s %q", d.Verdict, d.Explanation)
	}
}
