package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"walstep/cluster/proctest"
)

// reachableTempDir returns a temp dir the postgres user can traverse (the
// local backend runs the servers as postgres when the tests run as root;
// t.TempDir's parents are 0700).
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "walstep-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// jsonReport is the part of `walstep run --json` the tests read.
type jsonReport struct {
	Steps []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"steps"`
	Nodes [2]struct {
		Node        string   `json:"node"`
		Process     string   `json:"process"`
		Role        string   `json:"role"`
		Timeline    int      `json:"timeline"`
		ReplayLSN   string   `json:"replay_lsn"`
		LogTail     []string `json:"log_tail"`
		WalReceiver *struct {
			Status      string `json:"status"`
			ReceivedTLI int    `json:"received_tli"`
			Streaming   bool   `json:"streaming"`
		} `json:"wal_receiver"`
		WalSenders []struct {
			State string `json:"state"`
		} `json:"wal_senders"`
	} `json:"nodes"`
	Histories []struct {
		TLI     int `json:"tli"`
		Entries []struct {
			TLI    int    `json:"tli"`
			Switch string `json:"switch_lsn"`
			Reason string `json:"reason"`
		} `json:"entries"`
	} `json:"histories"`
	Archive struct {
		WAL []struct {
			Name string `json:"name"`
		} `json:"wal"`
		Backups []string `json:"backups"`
	} `json:"archive"`
	Diagnosis map[string]any `json:"diagnosis"`
}

// runJSON runs `walstep run --json` in-process and decodes the report.
func runJSON(t *testing.T, args ...string) (jsonReport, int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := realMain(append([]string{"run", "--json"}, args...), &out, &errb)
	var rep jsonReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("decode report: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	return rep, code, errb.String()
}

func skipWithoutPostgres(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: runs real PostgreSQL servers")
	}
	if _, err := os.Stat("/usr/lib/postgresql"); err != nil {
		if _, err := exec.LookPath("pg_ctl"); err != nil {
			t.Skip("no PostgreSQL server binaries: apt-get install postgresql-15")
		}
	}
}

// postgresOf lists postgres processes whose command line names dir.
func postgresOf(t *testing.T, dir string) []string {
	t.Helper()
	var hits []string
	for _, p := range proctest.Union(proctest.OfLab(dir), proctest.Mine(dir)) {
		if strings.Contains(p.Cmd, "postgres") {
			hits = append(hits, p.String())
		}
	}
	return hits
}

// initLabWith runs `walstep init lab` and then writes the given lab files
// (name, content pairs) over the defaults.
func initLabWith(t *testing.T, lab string, files ...string) {
	t.Helper()
	if code, _, stderr := runMain("init", lab); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	for i := 0; i+1 < len(files); i += 2 {
		if err := os.WriteFile(filepath.Join(lab, files[i]), []byte(files[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// noTarget is a primary_restore.conf that restores to the end of the archive.
const noTarget = "# restore to the end of the archive\n"

func hasLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func TestE2ELocalDefaultLabDiverges(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	base := reachableTempDir(t)
	lab := filepath.Join(base, "lab")
	rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp")
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	assertDiverged(t, rep)
	if left := postgresOf(t, lab); len(left) > 0 {
		t.Errorf("postgres left running after run: %v", left)
	}
}

func TestE2ELocalNoRecoveryTargetIsHealthy(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	base := reachableTempDir(t)
	lab := filepath.Join(base, "lab")
	initLabWith(t, lab, "primary_restore.conf", noTarget)
	rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp")
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	assertHealthy(t, rep)
}

// A lab path with a space, a quote and a % runs the whole playbook with
// both archivers: their commands in postgresql.conf and the cp archiver's
// scripts must quote it (before, step 4d failed with cp and hung with wal-g,
// whose archive_command split the path).
func TestE2ELocalLabPathWithSpaces(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	base := reachableTempDir(t)
	dir := filepath.Join(base, "my labs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lab := filepath.Join(dir, "it's 100% lab")
	bin := filepath.Join(base, "wal g", "wal-g")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte(fakeWalG), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--archiver", "cp"}, {"--archiver", "wal-g", "--wal-g", bin}} {
		rep, code, stderr := runJSON(t, append([]string{"--lab", lab, "--backend", "local", "--wait", "20s"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: run exit %d, stderr:\n%s", args, code, stderr)
		}
		assertDiverged(t, rep)
	}
}

// assertDiverged checks a report of the default lab: every step done, the
// fork at the consistency point, the replica past it and refused, and the
// verdict with its LSNs.
func assertDiverged(t *testing.T, rep jsonReport) {
	t.Helper()
	for _, s := range rep.Steps {
		if s.Status != "done" {
			t.Errorf("step %s: %s %s", s.ID, s.Status, s.Error)
		}
	}
	// The primary forked timeline 2 at the consistency point.
	var fork string
	for _, h := range rep.Histories {
		if h.TLI == 2 && len(h.Entries) == 1 && h.Entries[0].TLI == 1 {
			fork = h.Entries[0].Switch + " " + h.Entries[0].Reason
		}
	}
	if fork != "0/2000100 reached consistency" {
		t.Fatalf("timeline 2 history: got %q, want fork at 0/2000100 reached consistency (histories %+v)", fork, rep.Histories)
	}
	primary, replica := rep.Nodes[0], rep.Nodes[1]
	if primary.Timeline != 2 || primary.Role != "primary" {
		t.Errorf("primary: timeline %d role %s, want 2 primary", primary.Timeline, primary.Role)
	}
	// The replica is ahead of the fork point and the primary refuses it.
	if !hasLine(replica.LogTail, "requested starting point 0/3000000 is ahead of the WAL flush position") {
		t.Errorf("replica log lacks the divergence error; tail:\n%s", strings.Join(replica.LogTail, "\n"))
	}
	// The receiver asks for timeline 2, but the primary never accepts it.
	if replica.Role == "streaming standby" || replica.Timeline == 2 || (replica.WalReceiver != nil && replica.WalReceiver.Streaming) {
		t.Errorf("replica reported streaming: role %s timeline %d receiver %+v", replica.Role, replica.Timeline, replica.WalReceiver)
	}
	if replica.ReplayLSN != "0/3000000" {
		t.Errorf("replica replay LSN %s, want 0/3000000 (past the fork at 0/2000100)", replica.ReplayLSN)
	}
	if v, _ := rep.Diagnosis["verdict"].(string); v != "diverged" {
		t.Errorf("diagnosis verdict %q, want diverged", v)
	}
	if f, r := rep.Diagnosis["fork_lsn"], rep.Diagnosis["replica_lsn"]; f != "0/2000100" || r != "0/3000000" {
		t.Errorf("diagnosis fork_lsn %v replica_lsn %v, want 0/2000100 and 0/3000000", f, r)
	}
	assertProof(t, rep, "absent", "agrees")
}

// assertProof checks the proof from the data of a run of the seed (its
// step P): the marker written and flushed on the primary has fate on the
// replica (absent when diverged, found when healthy, no answer when it is
// down), the proof has status, and a diverged replica's records past the
// fork are named. A playbook without step P is not checked.
func assertProof(t *testing.T, rep jsonReport, fate, status string) {
	t.Helper()
	if len(rep.Steps) == 0 || rep.Steps[len(rep.Steps)-1].ID != "P" {
		return
	}
	p, _ := rep.Diagnosis["proof"].(map[string]any)
	if p == nil {
		t.Fatalf("the diagnosis has no proof: %v", rep.Diagnosis)
	}
	if p["status"] != status {
		t.Errorf("proof status %v, want %s: %v", p["status"], status, p["conclusion"])
	}
	m, _ := p["marker"].(map[string]any)
	if m == nil || m["node"] != "primary" || m["lsn"] == "" || m["step"] != "P" {
		t.Errorf("proof marker %v", p["marker"])
	}
	fates := map[string]string{}
	nodes, _ := p["nodes"].([]any)
	for _, n := range nodes {
		if n, ok := n.(map[string]any); ok {
			fates[n["node"].(string)] = n["fate"].(string)
		}
	}
	if fates["primary"] != "written" || fates["replica"] != fate {
		t.Errorf("marker fates %v, want written on the primary, %s on the replica", fates, fate)
	}
	if pf, _ := p["past_fork"].(string); fate != "found" && !strings.Contains(pf, "past the fork at 0/2000100") {
		t.Errorf("proof's records past the fork: %q", pf)
	}
	// Looking for the marker leaves no error in a standby's log.
	if hasLine(rep.Nodes[1].LogTail, `relation "walstep_marker" does not exist`) {
		t.Errorf("the marker check left errors in the replica's log:\n%s", strings.Join(rep.Nodes[1].LogTail, "\n"))
	}
	t.Logf("proof: %v", p["conclusion"])
}

// assertHealthy checks a report of a lab without a recovery target: the
// replica streams on timeline 2 and the verdict is healthy.
func assertHealthy(t *testing.T, rep jsonReport) {
	t.Helper()
	replica := rep.Nodes[1]
	if replica.WalReceiver == nil || !replica.WalReceiver.Streaming || replica.WalReceiver.ReceivedTLI != 2 || replica.Role != "streaming standby" {
		t.Fatalf("replica should stream on timeline 2, got receiver %+v role %s; log:\n%s", replica.WalReceiver, replica.Role, strings.Join(replica.LogTail, "\n"))
	}
	if ws := rep.Nodes[0].WalSenders; len(ws) != 1 || ws[0].State != "streaming" {
		t.Errorf("primary's walsenders %+v, want one streaming", ws)
	}
	if hasLine(replica.LogTail, "ahead of the WAL flush position") {
		t.Errorf("healthy run shows the divergence error")
	}
	if v, _ := rep.Diagnosis["verdict"].(string); v != "healthy" {
		t.Errorf("diagnosis verdict %q, want healthy", v)
	}
	assertProof(t, rep, "found", "agrees")
}

// listTree returns every path under dir with its size, for before/after
// comparisons.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func TestE2ELocalRunTwiceTouchesOnlyTheLab(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	base := reachableTempDir(t)
	lab := filepath.Join(base, "lab")
	outside := filepath.Join(base, "outside")
	if err := os.MkdirAll(filepath.Join(outside, "primary-data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "primary-data", "keep.txt"), []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := listTree(t, outside)
	for i := 0; i < 2; i++ {
		rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp")
		if code != 0 {
			t.Fatalf("run %d exit %d:\n%s", i+1, code, stderr)
		}
		if len(rep.Archive.Backups) != 1 {
			t.Errorf("run %d: backups %v, want exactly one (the reset must clear the old archive)", i+1, rep.Archive.Backups)
		}
	}
	after := listTree(t, outside)
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Errorf("files outside the lab changed:\nbefore %v\nafter  %v", before, after)
	}
	if b, err := os.ReadFile(filepath.Join(outside, "primary-data", "keep.txt")); err != nil || string(b) != "precious" {
		t.Errorf("outside file damaged: %q %v", b, err)
	}
	for _, keep := range []string{"primary_restore.conf", "replica_restore.conf", "replica_standby.conf", "wal-g.json", ".walstep-lab"} {
		if _, err := os.Stat(filepath.Join(lab, keep)); err != nil {
			t.Errorf("editable file %s gone after two runs: %v", keep, err)
		}
	}
}
