package pg

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readLog(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "logs", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

func findKind(fs []Finding, kind string) (Finding, bool) {
	for _, f := range fs {
		if f.Kind == kind {
			return f, true
		}
	}
	return Finding{}, false
}

func TestExplainLogRealExcerpts(t *testing.T) {
	tests := []struct {
		file  string
		kind  string
		check func(t *testing.T, f Finding)
	}{
		{"default_replica.log", FindAheadOfFlush, func(t *testing.T, f Finding) {
			if f.LSN != 0x3000000 || f.OtherLSN != 0x2000178 {
				t.Errorf("lsn %s other %s, want 0/3000000 and 0/2000178", f.LSN, f.OtherLSN)
			}
		}},
		{"default_replica.log", FindMissingInArchive, func(t *testing.T, f Finding) {
			if f.File != "00000003.history" && !strings.HasPrefix(f.File, "0000000") {
				t.Errorf("file %q", f.File)
			}
		}},
		{"default_replica.log", FindRestored, nil},
		{"default_replica.log", FindStartedStreaming, func(t *testing.T, f Finding) {
			if f.Timeline != 2 || f.LSN != 0x3000000 {
				t.Errorf("timeline %d lsn %s", f.Timeline, f.LSN)
			}
		}},
		{"default_replica.log", FindWaitingForWAL, func(t *testing.T, f Finding) {
			if f.LSN != 0x3000018 {
				t.Errorf("lsn %s", f.LSN)
			}
		}},
		{"default_primary.log", FindAheadOfFlush, nil},
		{"default_primary.log", FindSelectedTimeline, func(t *testing.T, f Finding) {
			if f.Timeline != 2 {
				t.Errorf("timeline %d", f.Timeline)
			}
		}},
		{"forked_replica.log", FindForkedBeforeRecovery, func(t *testing.T, f Finding) {
			if f.Timeline != 2 || f.OtherTLI != 1 || f.LSN != 0x3000000 {
				t.Errorf("got %d %d %s", f.Timeline, f.OtherTLI, f.LSN)
			}
		}},
		{"forked_replica.log", FindSlotMissing, nil},
		{"forked_replica.log", FindConsistent, func(t *testing.T, f Finding) {
			if f.LSN != 0x2000100 {
				t.Errorf("lsn %s", f.LSN)
			}
		}},
		{"notinhistory_replica.log", FindStartNotInHistory, func(t *testing.T, f Finding) {
			if f.Timeline != 1 || f.LSN != 0x3000000 {
				t.Errorf("got %d %s", f.Timeline, f.LSN)
			}
		}},
		{"notinhistory_replica.log", FindHistoryForkDetail, func(t *testing.T, f Finding) {
			if f.Timeline != 1 || f.LSN != 0x2000100 {
				t.Errorf("got %d %s", f.Timeline, f.LSN)
			}
		}},
		{"notinhistory_primary.log", FindStartNotInHistory, nil},
		{"minrecovery_replica.log", FindNoMinRecoveryPoint, func(t *testing.T, f Finding) {
			if f.Timeline != 2 || f.LSN != 0x3000000 || f.OtherTLI != 1 {
				t.Errorf("got %d %s %d", f.Timeline, f.LSN, f.OtherTLI)
			}
		}},
		{"minrecovery_replica.log", FindIncorrectPrevLink, nil},
		{"notachild_replica.log", FindNotAChild, func(t *testing.T, f Finding) {
			if f.Timeline != 2 {
				t.Errorf("timeline %d", f.Timeline)
			}
		}},
		{"notachild_replica.log", FindNotAChildDetail, func(t *testing.T, f Finding) {
			if f.LSN != 0x3000060 || f.Timeline != 1 || f.OtherLSN != 0x2000100 {
				t.Errorf("got %s %d %s", f.LSN, f.Timeline, f.OtherLSN)
			}
		}},
		{"notreached_primary.log", FindTargetNotReached, nil},
		{"promote_replica.log", FindSelectedTimeline, nil},
		{"promote_primary.log", FindSelectedTimeline, nil},
		{"prevlink_replica.log", FindIncorrectPrevLink, func(t *testing.T, f Finding) {
			if f.LSN != 0x3000060 {
				t.Errorf("lsn %s", f.LSN)
			}
		}},
		{"healthy_replica.log", FindStartedStreaming, nil},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.kind, func(t *testing.T) {
			fs := ExplainLog("replica", readLog(t, tc.file))
			f, ok := findKind(fs, tc.kind)
			if !ok {
				t.Fatalf("no %s finding in %s", tc.kind, tc.file)
			}
			if f.Explanation == "" || f.Node != "replica" || f.Line == "" {
				t.Errorf("incomplete finding %+v", f)
			}
			if tc.check != nil {
				tc.check(t, f)
			}
		})
	}
}

func TestHealthyLogHasNoDivergence(t *testing.T) {
	for _, f := range ExplainLog("replica", readLog(t, "healthy_replica.log")) {
		if f.Diverges() {
			t.Errorf("healthy log flagged: %s", f.Line)
		}
	}
}

func TestExplainLogLineMeasuredByLead(t *testing.T) {
	// The line as measured on this machine, with its real prefix.
	line := "2026-11-25 21:39:09.328 UTC [17962] FATAL:  could not receive data from WAL stream: ERROR:  requested starting point 0/3000000 is ahead of the WAL flush position of this server 0/2000178"
	f, ok := ExplainLogLine(line)
	if !ok || f.Kind != FindAheadOfFlush || !f.Diverges() {
		t.Fatalf("got %+v, %v", f, ok)
	}
	for _, want := range []string{"0/3000000", "0/2000178", "ahead of the primary"} {
		if !strings.Contains(f.Explanation, want) {
			t.Errorf("explanation %q lacks %q", f.Explanation, want)
		}
	}
	if got := f.Message(); !strings.HasPrefix(got, "FATAL:  could not receive") {
		t.Errorf("Message() = %q", got)
	}
}

func TestExplainLogLinePG17WaitingAhead(t *testing.T) {
	// Measured with walstep explore on PostgreSQL 17 (Docker, default lab).
	line := "2026-11-30 09:23:32.030 UTC [38] LOG:  walreceiver requested start point 0/03000000 on timeline 2 is ahead of the upstream server's flush position 0/02000198, waiting"
	f, ok := ExplainLogLine(line)
	if !ok || f.Kind != FindAheadOfFlush || !f.Diverges() || f.Timeline != 2 {
		t.Fatalf("got %+v, %v", f, ok)
	}
	for _, want := range []string{"0/3000000", "0/2000198", "ahead of the primary"} {
		if !strings.Contains(f.Explanation, want) {
			t.Errorf("explanation %q lacks %q", f.Explanation, want)
		}
	}
}

func TestExplainLogLineIgnoresOthers(t *testing.T) {
	for _, l := range []string{
		"",
		"2026-11-25 21:50:17.013 UTC [26560] LOG:  database system is ready to accept connections",
		"2026-11-25 21:43:25.312 UTC [13483] FATAL:  the database system is starting up",
		"selected new timeline ID: x",
		"requested starting point 0/3000000 is ahead",
	} {
		if f, ok := ExplainLogLine(l); ok {
			t.Errorf("%q recognised as %s", l, f.Kind)
		}
	}
}

func TestExplainWalgMissing(t *testing.T) {
	f, ok := ExplainLogLine("ERROR: 2026/11/25 21:50:21.497041 Archive '000000020000000000000002' does not exist.")
	if !ok || f.Kind != FindMissingInArchive || f.File != "000000020000000000000002" || f.Timeline != 2 {
		t.Fatalf("got %+v %v", f, ok)
	}
}

func TestStripLogPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"2026-11-25 21:39:09.328 UTC [17962] LOG:  redo starts at 0/2000028":    "LOG:  redo starts at 0/2000028",
		"cp: cannot stat 'x': No such file or directory":                        "cp: cannot stat 'x': No such file or directory",
		"\tDETAIL:  This server's history forked from timeline 1 at 0/2000100.": "DETAIL:  This server's history forked from timeline 1 at 0/2000100.",
	} {
		if got := StripLogPrefix(in); got != want {
			t.Errorf("StripLogPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

// A missing slot is explained by what creates it, not by a step of one
// playbook: nothing below the playbook knows a step ID.
func TestSlotMissingNamesWhatCreatesIt(t *testing.T) {
	f, ok := ExplainLogLine(`2026-11-25 22:58:41.748 UTC [16315] FATAL:  could not start WAL streaming: ERROR:  replication slot "it's" does not exist`)
	if !ok {
		t.Fatal("not explained")
	}
	if want := "select pg_create_physical_replication_slot('it''s')"; !strings.Contains(f.Explanation, want) || strings.Contains(f.Explanation, "step") {
		t.Errorf("explanation %q: want %q and no step", f.Explanation, want)
	}
}
