package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"walstep/cluster"
	"walstep/pg"
	"walstep/present"
)

// The WAL at the fork, read with the server's own pg_waldump, on both
// backends and with both archivers (the real WAL-G: its storage holds
// lz4-compressed segments).

// walReport is the report's wal_past_fork.
type walReport struct {
	WALPastFork *pg.WALAtFork `json:"wal_past_fork"`
	Diagnosis   struct {
		Verdict     string `json:"verdict"`
		Explanation string `json:"explanation"`
	} `json:"diagnosis"`
}

func runWALJSON(t *testing.T, args ...string) (walReport, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := realMain(append([]string{"run", "--json"}, args...), &out, &errb)
	if code != 0 {
		t.Fatalf("run %v: exit %d\n%s", args, code, errb.String())
	}
	var rep walReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("decode report: %v", err)
	}
	if rep.WALPastFork == nil {
		t.Fatalf("the report has no wal_past_fork:\n%s", out.String())
	}
	return rep, errb.String()
}

// assertOnlySwitch checks that what the replica has past the fork is
// exactly the end-of-backup SWITCH at 0/2000100, and that the new
// timeline's first record sits at the fork.
func assertOnlySwitch(t *testing.T, rep walReport) {
	t.Helper()
	w := rep.WALPastFork
	if w.Err != "" || w.Note != "" {
		t.Errorf("past the fork: error %q, note %q", w.Err, w.Note)
	}
	if w.ForkLSN.String() != "0/2000100" || w.Timeline != 1 || w.ReplicaLSN.String() != "0/3000000" {
		t.Errorf("fork %s on timeline %d, replica at %s; want 0/2000100, 1, 0/3000000", w.ForkLSN, w.Timeline, w.ReplicaLSN)
	}
	if w.Total != 1 || len(w.Records) != 1 {
		t.Fatalf("records past the fork: %d (%+v), want exactly the SWITCH", w.Total, w.Records)
	}
	r := w.Records[0]
	if r.LSN.String() != "0/2000100" || r.Rmgr != "XLOG" || r.Type != "SWITCH" || r.XID != 0 {
		t.Errorf("record past the fork = %+v, want XLOG SWITCH at 0/2000100", r)
	}
	if w.Transactions != 0 {
		t.Errorf("%d transactions past the fork, want none", w.Transactions)
	}
	want := "The only record past the fork is XLOG SWITCH at 0/2000100 (the end-of-backup switch); replaying it moved the replica to the end of segment 000000010000000000000002, 0/3000000."
	if w.Sentence != want {
		t.Errorf("sentence %q\nwant %q", w.Sentence, want)
	}
	nt := w.NewTimeline
	if nt.Timeline != 2 || nt.Err != "" || len(nt.Records) == 0 || nt.Records[0].LSN.String() != "0/2000100" {
		t.Errorf("new timeline: %+v", nt)
	}
}

func TestE2EWALPastForkLocal(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	base := reachableTempDir(t)
	walg := realWalG(t)
	for _, arc := range [][]string{{"--archiver", "cp"}, {"--archiver", "wal-g", "--wal-g", walg}} {
		t.Run(arc[1], func(t *testing.T) {
			lab := filepath.Join(base, "lab-"+arc[1])
			t0 := time.Now()
			rep, _ := runWALJSON(t, append([]string{"--lab", lab, "--backend", "local"}, arc...)...)
			t.Logf("local %s: whole run in %s, the WAL read in %d ms; source %q, new timeline from %q", arc[1], time.Since(t0).Round(time.Millisecond), rep.WALPastFork.ReadMS, rep.WALPastFork.Source, rep.WALPastFork.NewTimeline.Source)
			assertOnlySwitch(t, rep)
			if arc[1] == "wal-g" && !strings.Contains(rep.WALPastFork.Source, "wal-g") {
				t.Errorf("with WAL-G the segment comes compressed from its storage; source %q", rep.WALPastFork.Source)
			}
			if !strings.Contains(rep.Diagnosis.Explanation, "XLOG SWITCH at 0/2000100") {
				t.Errorf("the diagnosis lacks the sentence: %s", rep.Diagnosis.Explanation)
			}
			if ents, _ := os.ReadDir(filepath.Join(lab, cluster.RunDir)); len(ents) > 0 {
				for _, e := range ents {
					if strings.HasPrefix(e.Name(), "walstep-waldump") {
						t.Errorf("staging directory left behind: %s", e.Name())
					}
				}
			}
		})
	}
}

func TestE2EWALPastForkDocker(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	for _, c := range []struct{ archiver, image string }{{"cp", img}, {"wal-g", ""}} {
		t.Run(c.archiver, func(t *testing.T) {
			if c.image == "" {
				c.image = dockerWalGImage(t)
			}
			lab, flags := dockerLab(t, img)
			for i, f := range flags {
				switch f {
				case "--archiver":
					flags[i+1] = c.archiver
				case "--image":
					flags[i+1] = c.image
				}
			}
			t0 := time.Now()
			rep, _ := runWALJSON(t, flags...)
			t.Logf("docker %s: whole run in %s, the WAL read in %d ms; source %q, new timeline from %q", c.archiver, time.Since(t0).Round(time.Millisecond), rep.WALPastFork.ReadMS, rep.WALPastFork.Source, rep.WALPastFork.NewTimeline.Source)
			assertOnlySwitch(t, rep)
			if c.archiver == "wal-g" && !strings.Contains(rep.WALPastFork.Source, "wal-g") {
				t.Errorf("with WAL-G the segment comes compressed from its storage; source %q", rep.WALPastFork.Source)
			}
			assertNoDockerLeft(t, lab)
		})
	}
}

// dataHook writes three transactions on the old primary after its backup
// (step 4d): they land on timeline 1 past the consistency point, in the
// segment the old primary switches out at shutdown, which the replica then
// replays too.
const dataHook = "insert into test values ('after-backup-1');\ninsert into test values ('after-backup-2');\ninsert into test values ('after-backup-3');\n"

func TestE2EWALDataPastFork(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	base := reachableTempDir(t)
	lab := filepath.Join(base, "lab")
	initLabWith(t, lab, "hooks/after-4d.primary.sql", dataHook)
	rep, _ := runWALJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp", "--keep-running")
	t.Cleanup(func() { runMain("clean", "--lab", lab) })
	w := rep.WALPastFork
	if w.Err != "" || w.Transactions != 3 || w.Committed != 3 {
		t.Errorf("past the fork: error %q, %d transactions, %d committed; want 3 committed", w.Err, w.Transactions, w.Committed)
	}
	if len(w.Tables) == 0 || w.Tables[0] != "test" {
		t.Errorf("tables %v, want test first (named on the primary)", w.Tables)
	}
	for _, want := range []string{"3 transactions (3 committed) writing to test", "XLOG SWITCH at 0/2000100"} {
		if !strings.Contains(w.Sentence, want) {
			t.Errorf("sentence lacks %q: %s", want, w.Sentence)
		}
	}
	inserts := 0
	for _, r := range w.Records {
		if r.Rmgr == "Heap" && r.Type == "INSERT" && len(r.Relations) == 1 && r.Relations[0] == "test" {
			inserts++
		}
	}
	if inserts != 3 {
		t.Errorf("%d Heap INSERTs into test shown, want 3: %+v", inserts, w.Records)
	}
	// The view, as the debugger's w and the text report draw it.
	view := present.RenderWAL(w, 80, present.PlainDiagStyles())
	if !strings.Contains(strings.Join(strings.Fields(view), " "), "3 transactions (3 committed) writing to test") {
		t.Errorf("the WAL view does not count the transactions and name the table:\n%s", view)
	}
	if n := len(regexp.MustCompile(`(?m)Heap +INSERT +[0-9]+ +test$`).FindAllString(view, -1)); n != 3 {
		t.Errorf("the WAL view shows %d inserts into test, want 3:\n%s", n, view)
	}

	// Bad input on the same lab, with the servers still up: a range too
	// large is capped and says so; a segment that is nowhere is one line.
	l, err := cluster.OpenLab(lab)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cluster.NewLocal(cluster.LocalOptions{Lab: l})
	if err != nil {
		t.Fatal(err)
	}
	p := pg.NewPoller(b, pg.PollerOptions{})
	defer p.Close()
	ctx := context.Background()
	s := p.Poll(ctx)
	d := pg.Diagnose(pg.DiagnoseInput{Snapshot: s})
	capped := pg.ReadWALAtFork(ctx, b, s, d, pg.WALOptions{TempDir: l.Path(cluster.RunDir), MaxSegments: 1})
	if !strings.HasPrefix(capped.Capped, "range too large: read 1 of its 2 segments") || capped.Total != 1 {
		t.Errorf("capped to one segment: %q, %d records", capped.Capped, capped.Total)
	}
	few := pg.ReadWALAtFork(ctx, b, s, d, pg.WALOptions{TempDir: l.Path(cluster.RunDir), MaxRecords: 4})
	if !strings.HasPrefix(few.Capped, "range too large: read the first 4 records") || few.Total != 4 {
		t.Errorf("capped to four records: %q, %d records", few.Capped, few.Total)
	}
	far := d
	far.ReplicaLSN = pg.LSN(0x9000000)
	s.Nodes[1].ReceiveLSN = pg.InvalidLSN
	t0 := time.Now()
	missing := pg.ReadWALAtFork(ctx, b, s, far, pg.WALOptions{TempDir: l.Path(cluster.RunDir)})
	if !strings.Contains(missing.Err, "segment 000000010000000000000004 is neither in the archive nor in pg_wal") || strings.Contains(missing.Err, "\n") {
		t.Errorf("missing segment: %q", missing.Err)
	}
	if missing.Total != 11 {
		t.Errorf("records before the missing segment: %d, want the 11 read", missing.Total)
	}
	t.Logf("a missing segment is reported in %s", time.Since(t0).Round(time.Millisecond))

	// PostgreSQL binaries without pg_waldump: one line that says where it
	// was looked for.
	bin := filepath.Join(base, "bin-without-waldump")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(b.PGBin())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "pg_waldump" {
			if err := os.Symlink(filepath.Join(b.PGBin(), e.Name()), filepath.Join(bin, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	nb, err := cluster.NewLocal(cluster.LocalOptions{Lab: l, PGBin: bin})
	if err != nil {
		t.Fatal(err)
	}
	none := pg.ReadWALAtFork(ctx, nb, s, d, pg.WALOptions{TempDir: l.Path(cluster.RunDir)})
	if none.Err != "no pg_waldump in the server's environment (locally: --pg-bin; on Docker: the image)" || none.NewTimeline.Err != none.Err {
		t.Errorf("without pg_waldump: %q / %q", none.Err, none.NewTimeline.Err)
	}
}
