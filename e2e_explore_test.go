package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// exploreMatrix is the part of `walstep explore --json` the tests read.
type exploreMatrix struct {
	Dir         string `json:"dir"`
	Interrupted bool   `json:"interrupted"`
	WallMS      int64  `json:"wall_ms"`
	Prefixes    []struct {
		PG       int    `json:"pg"`
		Archiver string `json:"archiver"`
		Error    string `json:"error"`
	} `json:"prefixes"`
	Cells []struct {
		Variant  string         `json:"variant"`
		PG       int            `json:"pg"`
		Archiver string         `json:"archiver"`
		Backend  string         `json:"backend"`
		Runs     int            `json:"runs"`
		Verdicts map[string]int `json:"verdicts"`
		MedianMS int64          `json:"median_ms"`
		Results  []struct {
			Verdict    string `json:"verdict"`
			FailedStep string `json:"failed_step"`
			Error      string `json:"error"`
			Transcript string `json:"transcript"`
			Report     string `json:"report"`
		} `json:"results"`
	} `json:"cells"`
}

func exploreJSON(t *testing.T, args ...string) (exploreMatrix, int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := realMain(append([]string{"explore", "--json"}, args...), &out, &errb)
	var m exploreMatrix
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("decode matrix (exit %d): %v\nstdout:\n%s\nstderr:\n%s", code, err, out.String(), errb.String())
	}
	return m, code, errb.String()
}

// checkCells asserts one cell per variant × column, each with one run whose
// verdict is want[variant], and that every run left its transcript and
// report.
func checkCells(t *testing.T, m exploreMatrix, backend string, columns int, want map[string]string) {
	t.Helper()
	if len(m.Cells) != len(want)*columns {
		t.Fatalf("%d cells, want %d: %+v", len(m.Cells), len(want)*columns, m.Cells)
	}
	for _, c := range m.Cells {
		w := want[c.Variant]
		if c.Backend != backend || c.Runs != 1 || c.Verdicts[w] != 1 || c.MedianMS <= 0 {
			t.Errorf("cell %s pg%d %s: backend %s runs %d verdicts %v median %d ms, want %s 1/1; results %+v",
				c.Variant, c.PG, c.Archiver, c.Backend, c.Runs, c.Verdicts, c.MedianMS, w, c.Results)
		}
		for _, r := range c.Results {
			for _, f := range []string{r.Transcript, r.Report} {
				if _, err := os.Stat(filepath.Join(m.Dir, f)); err != nil {
					t.Errorf("cell %s pg%d %s: %v", c.Variant, c.PG, c.Archiver, err)
				}
			}
		}
	}
	for _, p := range m.Prefixes {
		if p.Error != "" {
			t.Errorf("prefix pg%d %s: %s", p.PG, p.Archiver, p.Error)
		}
	}
	if m.Interrupted {
		t.Error("matrix says interrupted")
	}
	md, err := os.ReadFile(filepath.Join(m.Dir, "matrix.md"))
	if err != nil || !strings.Contains(string(md), "/run1/transcript.md)") {
		t.Errorf("matrix.md missing or without links to transcripts: %v\n%s", err, md)
	}
}

// The three measured facts of the bug, as one command on real PostgreSQL.
func TestE2EExploreLocalDefaultNoTargetSwitch(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	if code := realMain([]string{"init", lab}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("init: exit %d", code)
	}
	md := filepath.Join(filepath.Dir(lab), "matrix.md")
	m, code, stderr := exploreJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp", "--variants", "default,no-target,switch-after-13", "--jobs", "2", "--markdown", md)
	if code != 0 {
		t.Fatalf("explore: exit %d\n%s", code, stderr)
	}
	checkCells(t, m, "local", 1, map[string]string{"default": "diverged", "no-target": "healthy", "switch-after-13": "healthy"})
	if b, err := os.ReadFile(md); err != nil || !strings.Contains(string(b), "](lab/explore/") {
		t.Errorf("--markdown %s: %v; want links relative to it:\n%s", md, err, b)
	}
	if len(m.Prefixes) != 1 {
		t.Errorf("%d shared prefixes, want 1 for three variants that differ only after step 7", len(m.Prefixes))
	}
	assertOwnArchives(t, m)
	if left := postgresOf(t, lab); len(left) > 0 {
		t.Errorf("postgres left running: %v", left)
	}
}

// assertOwnArchives checks that each run, started from a copy of a shared
// prefix, archived into its own lab: its report's archive (read from its
// lab) holds the timeline 2 history its own primary's promotion wrote.
func assertOwnArchives(t *testing.T, m exploreMatrix) {
	t.Helper()
	for _, c := range m.Cells {
		for _, r := range c.Results {
			b, err := os.ReadFile(filepath.Join(m.Dir, r.Report))
			if err != nil {
				t.Error(err)
				continue
			}
			var rep struct {
				Archive struct {
					WAL []struct {
						Name string `json:"name"`
					} `json:"wal"`
				} `json:"archive"`
			}
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Errorf("%s: %v", r.Report, err)
			}
			found := false
			for _, w := range rep.Archive.WAL {
				found = found || w.Name == "00000002.history"
			}
			if !found {
				t.Errorf("%s pg%d %s: its archive lacks 00000002.history: the run archived elsewhere (%+v)", c.Variant, c.PG, c.Archiver, rep.Archive.WAL)
			}
		}
	}
}

// The shared prefix on the local backend with the real WAL-G: run/wal-g.json
// and the archive_command name each run's own lab and ports.
func TestE2EExploreLocalWalG(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	walg := realWalG(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	if code := realMain([]string{"init", lab}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("init: exit %d", code)
	}
	m, code, stderr := exploreJSON(t, "--lab", lab, "--backend", "local", "--archiver", "wal-g", "--wal-g", walg, "--variants", "default,no-target", "--jobs", "2")
	if code != 0 {
		t.Fatalf("explore: exit %d\n%s", code, stderr)
	}
	checkCells(t, m, "local", 1, map[string]string{"default": "diverged", "no-target": "healthy"})
	assertOwnArchives(t, m)
	if left := postgresOf(t, lab); len(left) > 0 {
		t.Errorf("postgres left running: %v", left)
	}
}

func TestExploreBadInputIsOneLine(t *testing.T) {
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	if code := realMain([]string{"init", lab}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("init: exit %d", code)
	}
	if err := os.WriteFile(filepath.Join(lab, "variants", "no-target", "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--variants", "nope"}, "unknown variant \"nope\""},
		{[]string{"--variants", "default", "--pg", "14"}, "13, 15, 17 or 18"},
		{[]string{"--variants", "default", "--archiver", "rsync"}, "cp and wal-g"},
		{[]string{"--variants", "no-target"}, "notes.txt"},
		{[]string{"--variants", "default", "--shard", "4/3"}, "1 ≤ K ≤ N"},
		{[]string{"--variants", "default", "--shard", "0/3"}, "1 ≤ K ≤ N"},
	} {
		var out, errb bytes.Buffer
		code := realMain(append([]string{"explore", "--lab", lab, "--backend", "local"}, tc.args...), &out, &errb)
		lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
		if code == 0 || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want one line naming %q", tc.args, code, errb.String(), tc.want)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(lab, "explore")); len(ents) > 0 {
		t.Errorf("bad input left results dirs: %v", ents)
	}
}

// signalWriter collects output and closes hit once it holds want.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	hit  chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.hit) })
	}
	return n, err
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// Ctrl-C after the first run: the run under way stops with its servers,
// and the matrix of the cells done so far is printed.
// Not parallel: it sends SIGINT to the test process, which every
// in-process walstep running beside it would take as its own.
func TestE2EExploreInterruptPrintsCellsDone(t *testing.T) {
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	if code := realMain([]string{"init", lab}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("init: exit %d", code)
	}
	out := &signalWriter{want: "run 1/3:", hit: make(chan struct{})}
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- realMain([]string{"explore", "--lab", lab, "--backend", "local", "--archiver", "cp", "--variants", "default,no-target,switch-after-13", "--jobs", "1"}, out, &errb)
	}()
	select {
	case <-out.hit:
	case code := <-done:
		t.Fatalf("explore ended (exit %d) before the interrupt:\n%s\n%s", code, out.String(), errb.String())
	case <-time.After(5 * time.Minute):
		t.Fatalf("no first run within 5 minutes:\n%s", out.String())
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var code int
	select {
	case code = <-done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("explore did not stop within 3 minutes of Ctrl-C:\n%s", out.String())
	}
	text := out.String()
	if code != 130 || !strings.Contains(text, "interrupted:") || !strings.Contains(text, "diverged 1/1") || !strings.Contains(text, "—") {
		t.Errorf("exit %d, want 130 and the matrix with the first cell and the cells not run:\n%s\n%s", code, text, errb.String())
	}
	if left := postgresOf(t, lab); len(left) > 0 {
		t.Errorf("postgres left running: %v", left)
	}
}

// A shard interrupted after its first run: matrix.json already held that
// run before the interrupt (it is rewritten after every run, so even a
// killed shard keeps it), and merge folds what there is and names the
// cells missing, with why.
// Not parallel: it sends SIGINT to the test process, which every
// in-process walstep running beside it would take as its own.
func TestE2EExploreShardInterruptedThenMerged(t *testing.T) {
	skipWithoutPostgres(t)
	base := reachableTempDir(t)
	lab := filepath.Join(base, "lab")
	if code := realMain([]string{"init", lab}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("init: exit %d", code)
	}
	// 3 cells of one column in 2 shards: shard 1/2 holds default and no-target.
	out := &signalWriter{want: "shard 1/2 run 1/2:", hit: make(chan struct{})}
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- realMain([]string{"explore", "--lab", lab, "--backend", "local", "--archiver", "cp", "--variants", "default,no-target,switch-after-13", "--jobs", "1", "--shard", "1/2"}, out, &errb)
	}()
	select {
	case <-out.hit:
	case code := <-done:
		t.Fatalf("explore ended (exit %d) before the interrupt:\n%s\n%s", code, out.String(), errb.String())
	case <-time.After(5 * time.Minute):
		t.Fatalf("no first run within 5 minutes:\n%s", out.String())
	}
	files, _ := filepath.Glob(filepath.Join(lab, "explore", "*", "matrix.json"))
	if len(files) != 1 {
		t.Fatalf("after the first run: matrix.json files %v", files)
	}
	var mid exploreMatrix
	if b, err := os.ReadFile(files[0]); err != nil || json.Unmarshal(b, &mid) != nil || !mid.Interrupted || len(mid.Cells) != 2 || mid.Cells[0].Runs != 1 {
		t.Errorf("matrix.json while the shard runs: %v %+v", err, mid)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 130 {
			t.Errorf("exit %d, want 130", code)
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("explore did not stop within 3 minutes of Ctrl-C:\n%s", out.String())
	}
	var mout, merr bytes.Buffer
	code := realMain([]string{"explore", "merge", "--out", filepath.Join(base, "merged"), lab}, &mout, &merr)
	text := mout.String()
	if !regexp.MustCompile(`default +diverged 1/1`).MatchString(text) {
		t.Errorf("merge output lacks the finished cell:\n%s", text)
	}
	for _, want := range []string{
		"interrupted: 1 of 3 cells done",
		"no-target pg15 cp: shard 1/2 finished 0 of its 1 runs (interrupted)",
		"switch-after-13 pg15 cp: its shard is not among those given (missing: 2/2)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("merge output lacks %q:\n%s", want, text)
		}
	}
	if code != 1 || !strings.Contains(merr.String(), "misses 2 of 3 cells") {
		t.Errorf("merge: exit %d, stderr %q", code, merr.String())
	}
	if _, err := os.Stat(filepath.Join(base, "merged", "matrix.md")); err != nil {
		t.Errorf("merge wrote no matrix.md: %v", err)
	}
	if left := postgresOf(t, lab); len(left) > 0 {
		t.Errorf("postgres left running: %v", left)
	}
}
