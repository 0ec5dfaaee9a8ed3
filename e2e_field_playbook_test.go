package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// fieldPlaybook is a built-in playbook that tells one variant of a field
// script (testdata/field/) in walstep's words.
type fieldPlaybook struct {
	playbook        string
	script, variant string
	// as names, for each of the script's nodes, the walstep node playing it.
	as map[string]string
	// failed is the step that fails by design, with what its error says.
	failed, failedErr string
	// evidence is a regexp the diverged node's log or the diagnosis holds.
	evidence string
	// pastFork is a regexp the records past the fork match ("" for none).
	pastFork string
	// proof is, for each standby, "VERDICT FATE" its proof from the data
	// must show (proof.standbys), when set.
	proof map[string]string
}

// The scripts' nodes, in lower case.
var ab = map[string]string{"A": "a", "B": "b"}

var fieldPlaybooks = []fieldPlaybook{
	{playbook: "double-promotion", script: "double-promotion", variant: "a-follows-b", as: ab,
		evidence: `requested timeline 2 is not a child of this server's history`, pastFork: `wrote, as a primary, \d+ records of timeline 1 past the fork.*writing to t`},
	{playbook: "double-promotion-b-follows-a", script: "double-promotion", variant: "b-follows-a", as: ab,
		evidence: `highest timeline 1 of the primary is behind recovery timeline 2`},
	{playbook: "double-promotion-both-promoted", script: "double-promotion", variant: "both-promoted", as: ab,
		evidence: `requested starting point 0/5000000 is ahead of the WAL flush position`},
	{playbook: "double-promotion-rewind", script: "double-promotion", variant: "rewind", as: ab},
	{playbook: "double-promotion-rewind-no-checkpoint", script: "double-promotion", variant: "rewind-no-checkpoint", as: ab},
	{playbook: "double-promotion-rewind-no-hints", script: "double-promotion", variant: "rewind-no-hints", as: ab,
		failed: "5", failedErr: `target server needs to use either data checksums or "wal_log_hints = on"`,
		pastFork: `wrote, as a primary, \d+ records of timeline 1 past the fork.*writing to t`},
	// c, still following the stopped a, may restore a's segment from the
	// archive before it is repointed (its restore_command polls every 5 s):
	// then it refuses to start on timeline 2 instead. Seen on Docker.
	{playbook: "failover-old-primary-archives", script: "failover-old-primary-archives", variant: "old-primary-archives", as: abc,
		evidence: `requested starting point 0/[0-9A-F]+ is ahead of the WAL flush position|requested timeline 2 does not contain minimum recovery point`},
	{playbook: "failover-old-primary-archives-standby-first", script: "failover-old-primary-archives", variant: "standby-first", as: abc},
	{playbook: "failover-old-primary-archives-history-late", script: "failover-old-primary-archives", variant: "history-late", as: abc,
		evidence: `on timeline 1 is not in this server's history|new timeline 2 forked off current database system timeline 1 before current recovery point`},
	{playbook: "failover-old-primary-archives-rejoin-as-standby", script: "failover-old-primary-archives", variant: "rejoin-as-standby", as: abc},
	// One standby each way: c diverged, a rewound and healthy.
	{playbook: "failover-old-primary-archives-a-rewound", script: "failover-old-primary-archives", variant: "a-rewound", as: abc,
		evidence: `requested starting point 0/[0-9A-F]+ is ahead of the WAL flush position|requested timeline 2 does not contain minimum recovery point`,
		pastFork: `^Standby c replayed \d+ records? of timeline 1 past the fork`,
		proof:    map[string]string{"a": "healthy found", "c": "diverged absent"}},
	{playbook: "stray-timeline", script: "stray-timeline", variant: "latest", as: pts,
		evidence: `highest timeline 1 of the primary is behind recovery timeline 2`},
	{playbook: "stray-timeline-latest-past-fork", script: "stray-timeline", variant: "latest-past-fork", as: pts,
		evidence: `requested timeline 2 is not a child of this server's history`},
	{playbook: "stray-timeline-current", script: "stray-timeline", variant: "current", as: pts},
	{playbook: "stray-timeline-timeline-1", script: "stray-timeline", variant: "timeline-1", as: pts},
}

var (
	abc = map[string]string{"A": "a", "B": "b", "C": "c"}
	pts = map[string]string{"P": "p", "T": "t", "S": "s"}
)

// fieldReport is what the field tests read of `walstep run --json`.
type fieldReport struct {
	Steps []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"steps"`
	Nodes []struct {
		Node    string   `json:"node"`
		LogTail []string `json:"log_tail"`
	} `json:"nodes"`
	Diagnosis struct {
		Verdict     string     `json:"verdict"`
		Standby     string     `json:"standby"` // the node the verdict is about, when the report names it
		Evidence    []string   `json:"evidence"`
		Explanation string     `json:"explanation"`
		Proof       fieldProof `json:"proof"`
	} `json:"diagnosis"`
	WALPastFork *struct {
		Sentence string `json:"sentence"`
	} `json:"wal_past_fork"`
}

// fieldRuns shares each variant's script run between the tests that need
// its outcome: one run per variant per test binary.
var fieldRuns sync.Map // "script/variant" → *fieldRun

type fieldRun struct {
	once sync.Once
	out  []byte
	err  error
}

// fieldScript runs the plain script of a variant once and returns its output.
func fieldScript(script, variant string) ([]byte, error) {
	v, _ := fieldRuns.LoadOrStore(script+"/"+variant, &fieldRun{})
	r := v.(*fieldRun)
	r.once.Do(func() {
		r.out, r.err = exec.Command("bash", filepath.Join("testdata", "field", script+".sh"), variant).CombinedOutput()
	})
	return r.out, r.err
}

var scriptOutcome = regexp.MustCompile(`(?m)^OUTCOME: (.*)$`)

// Each field playbook, run by walstep on the local backend with the cp
// archiver, gives the verdict its plain script's marker row gives for the
// same variant, and names the same node: the script runs beside it.
func TestE2EFieldPlaybooks(t *testing.T) {
	skipWithoutPostgres(t)
	if _, err := exec.LookPath("runuser"); err != nil {
		t.Skip("the field scripts run the servers as postgres with runuser")
	}
	for _, c := range fieldPlaybooks {
		t.Run(c.playbook, func(t *testing.T) {
			t.Parallel()
			var sout []byte
			var serr error
			done := make(chan struct{})
			go func() { // joined below
				defer close(done)
				sout, serr = fieldScript(c.script, c.variant)
			}()
			lab := filepath.Join(reachableTempDir(t), "lab")
			var out, errb bytes.Buffer
			code := realMain([]string{"run", "--json", "--lab", lab, "--backend", "local", "--archiver", "cp", "--playbook", c.playbook}, &out, &errb)
			<-done
			m := scriptOutcome.FindSubmatch(sout)
			if serr != nil || m == nil {
				t.Fatalf("script %s %s failed (%v), no outcome:\n%s", c.script, c.variant, serr, sout)
			}
			var rep fieldReport
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatalf("decode report: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
			}
			checkFieldRun(t, c, strings.TrimSpace(string(m[1])), rep, code, errb.String())
			checkFieldProof(t, c, sout, rep)
		})
	}
}

// checkFieldRun compares walstep's run of c with the script's outcome
// ("healthy" or "diverged NODE…").
func checkFieldRun(t *testing.T, c fieldPlaybook, outcome string, rep fieldReport, code int, stderr string) {
	t.Helper()
	verdict, nodes, _ := strings.Cut(outcome, " ")
	if rep.Diagnosis.Verdict != verdict {
		t.Errorf("walstep says %s, the script %q; diagnosis %+v", rep.Diagnosis.Verdict, outcome, rep.Diagnosis)
	}
	stopped := false // past the step that fails: not run
	for _, s := range rep.Steps {
		switch {
		case s.ID == c.failed:
			stopped = true
			if s.Status != "failed" || !strings.Contains(s.Error, c.failedErr) {
				t.Errorf("step %s: %s %q, want failed with %q", s.ID, s.Status, s.Error, c.failedErr)
			}
		case stopped && s.Status != "pending":
			t.Errorf("step %s after the failed one: %s", s.ID, s.Status)
		case !stopped && s.Status != "done":
			t.Errorf("step %s: %s %s", s.ID, s.Status, s.Error)
		}
	}
	if wantCode := map[bool]int{true: 1, false: 0}[c.failed != ""]; code != wantCode {
		t.Errorf("exit %d; stderr:\n%s", code, stderr)
	}
	if verdict != "diverged" {
		return
	}
	// The node the script found diverged is the one walstep names: the
	// report's standby, or, in a report that names none, the replica.
	for _, n := range strings.Fields(nodes) {
		want := c.as[n]
		switch {
		case rep.Diagnosis.Standby != "" && rep.Diagnosis.Standby != want:
			t.Errorf("the script's diverged node %s is walstep's %s; walstep names %s", n, want, rep.Diagnosis.Standby)
		case rep.Diagnosis.Standby == "" && want != "replica":
			t.Errorf("the script's diverged node %s is walstep's %s; the report names no standby", n, want)
		}
		if rep.Diagnosis.Standby == "" && !strings.Contains(rep.Diagnosis.Explanation, "replica") {
			t.Errorf("the diagnosis does not name the replica: %q", rep.Diagnosis.Explanation)
		}
		if c.evidence != "" {
			re := regexp.MustCompile(c.evidence)
			var tail []string
			for _, nd := range rep.Nodes {
				if nd.Node == want {
					tail = nd.LogTail
				}
			}
			if !re.MatchString(strings.Join(append(tail, rep.Diagnosis.Evidence...), "\n")) {
				t.Errorf("neither %s's log nor the evidence holds %q:\n%s\n%s", want, c.evidence, strings.Join(tail, "\n"), strings.Join(rep.Diagnosis.Evidence, "\n"))
			}
		}
	}
	if c.pastFork != "" {
		if rep.WALPastFork == nil || !regexp.MustCompile(c.pastFork).MatchString(rep.WALPastFork.Sentence) {
			t.Errorf("the records past the fork: %+v, want %q", rep.WALPastFork, c.pastFork)
		}
	}
}

// The backend-specific parts of the field's verbs on Docker: pg_rewind in
// a container on the lab's network while its target is stopped (cp), and
// an archive held back and released through WAL-G's own wal-push, which
// refuses the history another node archived first. Each gives its plain
// script's outcome, as on the local backend.
func TestE2EFieldPlaybooksDocker(t *testing.T) {
	if _, err := exec.LookPath("runuser"); err != nil {
		t.Skip("the field scripts run the servers as postgres with runuser")
	}
	for _, c := range []struct {
		archiver string
		fieldPlaybook
		says string // a regexp the run's output matches (-v on stderr)
	}{
		{"cp", fieldPlaybookNamed(t, "double-promotion-rewind"), "pg_rewind: Done!"},
		{"wal-g", fieldPlaybookNamed(t, "double-promotion-both-promoted"), "already archived, contents differ, unable to overwrite"},
		{"cp", fieldPlaybookNamed(t, "failover-old-primary-archives"), `is ahead of the WAL flush position|requested timeline 2 does not contain minimum recovery point`},
	} {
		t.Run(c.playbook+"/"+c.archiver, func(t *testing.T) {
			t.Parallel()
			img := requireDockerE2E(t)
			if c.archiver == "wal-g" {
				img = dockerWalGImage(t)
			}
			var sout []byte
			var serr error
			done := make(chan struct{})
			go func() { // joined below
				defer close(done)
				sout, serr = fieldScript(c.script, c.variant)
			}()
			_, flags := dockerLab(t, img)
			for i, f := range flags {
				if f == "--archiver" {
					flags[i+1] = c.archiver
				}
			}
			var out, errb bytes.Buffer
			code := realMain(append([]string{"run", "--json", "-v", "--playbook", c.playbook}, flags...), &out, &errb)
			<-done
			m := scriptOutcome.FindSubmatch(sout)
			if serr != nil || m == nil {
				t.Fatalf("script %s %s failed (%v), no outcome:\n%s", c.script, c.variant, serr, sout)
			}
			var rep fieldReport
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatalf("decode report: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
			}
			checkFieldRun(t, c.fieldPlaybook, strings.TrimSpace(string(m[1])), rep, code, errb.String())
			if !regexp.MustCompile(c.says).MatchString(errb.String()) {
				t.Errorf("the run's output lacks %q:\n%s", c.says, errb.String())
			}
		})
	}
}

func fieldPlaybookNamed(t *testing.T, name string) fieldPlaybook {
	t.Helper()
	for _, c := range fieldPlaybooks {
		if c.playbook == name {
			return c
		}
	}
	t.Fatalf("no field playbook %s", name)
	return fieldPlaybook{}
}
