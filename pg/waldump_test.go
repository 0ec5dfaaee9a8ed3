package pg

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readWALDumpFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "waldump", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Recorded with PostgreSQL 15's pg_waldump on the archive of a default run:
// the whole difference past the fork is the end-of-backup SWITCH.
func TestParseWALDumpDefaultPastFork(t *testing.T) {
	o := ParseWALDump(readWALDumpFixture(t, "pg15_default_past_fork.txt"))
	if o.Err != "" || len(o.Records) != 1 {
		t.Fatalf("got %+v", o)
	}
	r := o.Records[0]
	if r.LSN.String() != "0/2000100" || r.Prev.String() != "0/20000D8" || r.Rmgr != "XLOG" || r.Type != "SWITCH" || r.Desc != "SWITCH" || r.XID != 0 || r.Len != 24 || len(r.Rels) != 0 {
		t.Errorf("record = %+v", r)
	}
}

func TestParseWALDumpEndOfWALIsNotAnError(t *testing.T) {
	o := ParseWALDump(readWALDumpFixture(t, "pg15_default_new_timeline.txt"))
	if o.Err != "" || !o.EndOfWAL {
		t.Errorf("err %q, end of WAL %v", o.Err, o.EndOfWAL)
	}
	if len(o.Records) != 2 || o.Records[0].Type != "CHECKPOINT_SHUTDOWN" || o.Records[1].Rmgr != "Standby" || o.Records[1].Type != "RUNNING_XACTS" {
		t.Errorf("records = %+v", o.Records)
	}
}

func TestParseWALDumpMissingSegment(t *testing.T) {
	o := ParseWALDump(readWALDumpFixture(t, "pg15_missing.txt"))
	if !strings.Contains(o.Err, `could not find file "000000010000000000000004"`) || len(o.Records) != 0 {
		t.Errorf("got %+v", o)
	}
	// PostgreSQL 13 and 14 say fatal.
	o = ParseWALDump("pg_waldump: fatal: could not find file \"000000010000000000000004\": No such file or directory\n")
	if !strings.Contains(o.Err, "could not find file") {
		t.Errorf("13/14 wording: got %+v", o)
	}
}

func TestParseWALDumpDataRecords(t *testing.T) {
	o := ParseWALDump(readWALDumpFixture(t, "pg15_data_past_fork.txt"))
	if len(o.Records) != 11 {
		t.Fatalf("%d records", len(o.Records))
	}
	ins := o.Records[1]
	if ins.Rmgr != "Heap" || ins.Type != "INSERT" || ins.XID != 728 || len(ins.Rels) != 1 || ins.Rels[0] != (RelFile{1663, 5, 16384}) || ins.Desc != "INSERT off 2 flags 0x00" {
		t.Errorf("insert = %+v", ins)
	}
	xids, committed := Transactions(o.Records)
	if len(xids) != 3 || committed != 3 {
		t.Errorf("transactions %v, committed %d", xids, committed)
	}
}

// PostgreSQL 16 and 17 print descriptions with colons.
func TestParseWALDumpLine16(t *testing.T) {
	r, ok := ParseWALDumpLine("rmgr: Heap        len (rec/tot):     59/    59, tx:        744, lsn: 0/0301A2B8, prev 0/0301A280, desc: INSERT+INIT off: 1, flags: 0x00, blkref #0: rel 1663/5/16388 blk 0")
	if !ok || r.Type != "INSERT+INIT" || r.Desc != "INSERT+INIT off: 1, flags: 0x00" || len(r.Rels) != 1 || r.Rels[0].Node != 16388 {
		t.Errorf("got %+v, %v", r, ok)
	}
	if _, ok := ParseWALDumpLine("first record is after 0/2000000, at 0/2000028, skipping over 40 bytes"); ok {
		t.Error("a note is not a record")
	}
}

func TestSummariseLongRange(t *testing.T) {
	o := ParseWALDump(readWALDumpFixture(t, "pg15_long_range.txt"))
	if len(o.Records) != 400 {
		t.Fatalf("%d records", len(o.Records))
	}
	var r WALRange
	r.setRecords(o.Records)
	if r.Total != 400 || len(r.Records) != 2*ShowEnds || r.Omitted != 400-2*ShowEnds {
		t.Errorf("total %d shown %d omitted %d", r.Total, len(r.Records), r.Omitted)
	}
	sum := 0
	for _, g := range r.Summary {
		sum += g.Count
		if g.First > g.Last {
			t.Errorf("group %s: first %s after last %s", g.Kind, g.First, g.Last)
		}
	}
	if sum != 400 {
		t.Errorf("summary counts %d records", sum)
	}
	if last, _ := r.Last(); last.Kind() != "XLOG SWITCH" {
		t.Errorf("last shown = %s", last.Kind())
	}
}

func TestSentenceDefault(t *testing.T) {
	w := &WALAtFork{ForkLSN: mustLSN("0/2000100"), Reason: "reached consistency", ReplicaLSN: mustLSN("0/3000000")}
	w.Timeline = 1
	w.setRecords(ParseWALDump(readWALDumpFixture(t, "pg15_default_past_fork.txt")).Records)
	want := "The only record past the fork is XLOG SWITCH at 0/2000100 (the end-of-backup switch); replaying it moved the replica to the end of segment 000000010000000000000002, 0/3000000."
	if got := w.describeSentence(); got != want {
		t.Errorf("sentence\n got %s\nwant %s", got, want)
	}
}

func TestSentenceData(t *testing.T) {
	w := &WALAtFork{ForkLSN: mustLSN("0/2000100"), Reason: "reached consistency", ReplicaLSN: mustLSN("0/4000000")}
	w.Timeline = 1
	recs := ParseWALDump(readWALDumpFixture(t, "pg15_data_past_fork.txt")).Records
	names := func(context.Context, []RelFile) (map[RelFile]string, error) {
		return map[RelFile]string{{1663, 5, 16384}: "test", {1663, 5, 16389}: "test_pkey (index)"}, nil
	}
	nameRecords(context.Background(), names, recs)
	w.setRecords(recs)
	got := w.describeSentence()
	for _, want := range []string{"11 records of timeline 1", "3 transactions (3 committed)", "test, test_pkey (index)", "0/4000000"} {
		if !strings.Contains(got, want) {
			t.Errorf("sentence lacks %q: %s", want, got)
		}
	}
	// Unresolved files are named by their numbers.
	recs = ParseWALDump(readWALDumpFixture(t, "pg15_data_past_fork.txt")).Records
	w.setRecords(recs)
	if got := w.describeSentence(); !strings.Contains(got, "rel 1663/5/16384") {
		t.Errorf("unresolved: %s", got)
	}
}

func TestReadStaged(t *testing.T) {
	out := "$ sh -c ...\nwalstep-src 000000010000000000000002 the archive\n" + readWALDumpFixture(t, "pg15_default_past_fork.txt") + "walstep-rc 0\n"
	r := readStaged(out, nil, nil, time.Second)
	if r.Err != "" || len(r.Records) != 1 || r.source != "the archive" {
		t.Errorf("got %+v", r)
	}
	// A segment that is nowhere: one line that names it.
	out = "walstep-missing 000000010000000000000004 is neither in the archive nor in pg_wal\nwalstep-rc 1\nwalstep-err " + readWALDumpFixture(t, "pg15_missing.txt")
	r = readStaged(out, errors.New("exit 1"), nil, time.Second)
	if r.Err != "segment 000000010000000000000004 is neither in the archive nor in pg_wal" {
		t.Errorf("missing: %q", r.Err)
	}
	r = readStaged("walstep-fail no pg_waldump there\n", nil, nil, time.Second)
	if r.Err != "no pg_waldump there" {
		t.Errorf("no pg_waldump: %q", r.Err)
	}
	r = readStaged("", context.DeadlineExceeded, context.DeadlineExceeded, 2*time.Second)
	if r.Err != "pg_waldump did not finish within 2s" {
		t.Errorf("timeout: %q", r.Err)
	}
	r = readStaged("", errors.New("exec sh: container gone"), nil, time.Second)
	if !strings.HasPrefix(r.Err, "could not run pg_waldump: exec sh") {
		t.Errorf("exec error: %q", r.Err)
	}
}

// A wal receiver that asked for the new timeline a moment ago makes the
// replica read as on timeline 2 at 0/3000000, where the primary has
// written only to 0/2000178: what it replayed past the fork is timeline 1's.
func TestOnOldTimeline(t *testing.T) {
	s := Snapshot{Nodes: SeedNodes(Reading{Up: true, Timeline: 2, FlushLSN: mustLSN("0/2000178")}, Reading{})}
	d := Diagnosis{ForkLSN: mustLSN("0/2000100"), ForkParent: 1, ForkTimeline: 2, ReplicaTimeline: 2}
	if !onOldTimeline(s.Nodes[0], d, mustLSN("0/3000000")) {
		t.Error("0/3000000 on timeline 2 beyond the primary's 0/2000178 is timeline 1's WAL")
	}
	if onOldTimeline(s.Nodes[0], d, mustLSN("0/2000150")) {
		t.Error("a replica within what the primary wrote on timeline 2 follows it")
	}
	d.ReplicaTimeline = 1
	if !onOldTimeline(s.Nodes[0], d, mustLSN("0/2000150")) {
		t.Error("a replica on timeline 1 is on the old timeline")
	}
}
