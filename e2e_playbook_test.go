package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"walstep/playbook"
)

// switchWal is a playbook written from scratch (not the seed's document):
// two servers restored from one backup and started together, healthy
// because the primary switches WAL before the replica restarts.
const switchWal = "testdata/playbooks/switch-wal.md"

// withoutStep writes a copy of the playbook at src without step id: the
// same reproduction without its fix.
func withoutStep(t *testing.T, src, id string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n## "+id+". ")
	if start < 0 {
		t.Fatalf("no step %s in %s", id, src)
	}
	end := strings.Index(text[start+1:], "\n## ")
	if end < 0 {
		t.Fatalf("step %s is the last of %s", id, src)
	}
	out := filepath.Join(t.TempDir(), "without-"+id+".md")
	if err := os.WriteFile(out, []byte(text[:start]+text[start+1+end:]), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := playbook.ReadFile(out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The second playbook runs end to end with `walstep run` on the local
// backend and PostgreSQL says healthy; the same document without its
// pg_switch_wal() step diverges as the seed does.
func TestE2EPlaybookSwitchWalLocal(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	for _, c := range []struct {
		name, file, want string
	}{{"with the switch", switchWal, "healthy"}, {"without it", withoutStep(t, switchWal, "6"), "diverged"}} {
		t.Run(c.name, func(t *testing.T) {
			lab := filepath.Join(reachableTempDir(t), "lab")
			rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp", "--playbook", c.file)
			if code != 0 {
				t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
			}
			checkPlaybookRun(t, rep, c.want)
		})
	}
}

// The same playbook on the Docker backend.
func TestE2EPlaybookSwitchWalDocker(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	_, flags := dockerLab(t, img)
	rep, code, stderr := runJSON(t, append(flags, "--playbook", switchWal)...)
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	checkPlaybookRun(t, rep, "healthy")
}

// checkPlaybookRun asserts a run of the switch-wal playbook: its own
// steps, all done, and PostgreSQL's verdict.
func checkPlaybookRun(t *testing.T, rep jsonReport, want string) {
	t.Helper()
	var ids []string
	for _, s := range rep.Steps {
		ids = append(ids, s.ID)
		if s.Status != "done" {
			t.Errorf("step %s: %s %s", s.ID, s.Status, s.Error)
		}
	}
	if ids[len(ids)-1] != "8" || len(ids) < 8 {
		t.Errorf("steps %v: not the switch-wal playbook's", ids)
	}
	switch want {
	case "healthy":
		assertHealthy(t, rep)
	default:
		if v, _ := rep.Diagnosis["verdict"].(string); v != want {
			t.Errorf("verdict %v, want %s; diagnosis %v", rep.Diagnosis["verdict"], want, rep.Diagnosis)
		}
		if tail := rep.Nodes[1].LogTail; !hasLine(tail, "ahead of the WAL flush position") {
			t.Errorf("replica log lacks PostgreSQL's refusal:\n%s", strings.Join(tail, "\n"))
		}
	}
}

// explore runs any playbook: the switch-wal playbook's runs share its
// steps before the first that reads a conf (0-3: the backup), and both
// variants come out healthy.
func TestE2EExplorePlaybookLocal(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	if code := realMain([]string{"init", "--playbook", switchWal, lab}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("init: exit %d", code)
	}
	m, code, stderr := exploreJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp", "--variants", "default,no-target", "--jobs", "2")
	if code != 0 {
		t.Fatalf("explore: exit %d\n%s", code, stderr)
	}
	checkCells(t, m, "local", 1, map[string]string{"default": "healthy", "no-target": "healthy"})
	if len(m.Prefixes) != 1 {
		t.Errorf("%d shared prefixes, want 1", len(m.Prefixes))
	}
	if left := postgresOf(t, lab); len(left) > 0 {
		t.Errorf("postgres left running: %v", left)
	}
}

// A playbook that does not hold is refused before anything runs: one
// line naming file:line, exit 1, and no lab made.
func TestPlaybookRefusedBeforeAnythingRuns(t *testing.T) {
	dir := t.TempDir()
	head := "---\nnodes:\n  primary: primary\n  replica: standby of primary\n---\n"
	for _, c := range []struct {
		name, body string
		line       int
	}{
		{"unknown action", "\n## 1. A\n\n```walstep\nfrobnicate primary\n```\n", 10},
		{"undeclared node", "\n## 1. A\n\n```walstep\ninitdb standby2\n```\n", 10},
		{"duplicate ID", "\n## 1. A\n\n```walstep\nsay a\n```\n\n## 1. B\n\n```walstep\nsay b\n```\n", 13},
		{"missing ID", "\n## Start it\n\n```walstep\nstart primary\n```\n", 9},
		{"wait without deadline", "\n## 1. A\n\n```walstep\nstart primary\nwait ready primary\nstop primary\n```\n", 11},
		{"started, never stopped", "\n## 1. A\n\n```walstep\nstart primary\nwait ready primary 5s\n```\n", 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			pb := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".md")
			if err := os.WriteFile(pb, []byte(head+c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			lab := filepath.Join(dir, "lab-"+filepath.Base(pb))
			code, stdout, stderr := runMain("run", "--lab", lab, "--backend", "local", "--archiver", "cp", "--playbook", pb)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			want := "walstep: " + pb + ":" + strconv.Itoa(c.line) + ": "
			if code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], want) || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want one line starting %q", code, stdout, stderr, want)
			}
			if _, err := os.Stat(lab); !os.IsNotExist(err) {
				t.Errorf("a refused playbook made the lab: %v", err)
			}
		})
	}
	// The lab's own playbook.md, broken: refused before a server starts or
	// a generated dir is made.
	lab := filepath.Join(dir, "lab")
	if code, _, stderr := runMain("init", lab); code != 0 {
		t.Fatal(stderr)
	}
	if err := os.WriteFile(filepath.Join(lab, "playbook.md"), []byte(head+"\n## 0. R\n\n```walstep\nreset lab\nwait promoted primary\n```\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runMain("run", "--lab", lab, "--backend", "local", "--archiver", "cp")
	if want := "walstep: " + filepath.Join(lab, "playbook.md") + ":11: wait promoted: no deadline"; code != 1 || !strings.HasPrefix(stderr, want) {
		t.Errorf("exit %d, stderr %q, want %q…", code, stderr, want)
	}
	for _, gen := range []string{"primary-data", "logs", "run"} {
		if _, err := os.Stat(filepath.Join(lab, gen)); !os.IsNotExist(err) {
			t.Errorf("%s made although the playbook was refused", gen)
		}
	}
}

// init writes the seed's playbook into the lab, or the one named; lists
// the built-in ones; refuses one that does not parse, leaving no lab.
func TestInitWritesThePlaybook(t *testing.T) {
	dir := t.TempDir()
	lab := filepath.Join(dir, "lab")
	if code, _, stderr := runMain("init", lab); code != 0 {
		t.Fatal(stderr)
	}
	seed, _ := playbook.BuiltinSource("seed")
	if b, err := os.ReadFile(filepath.Join(lab, "playbook.md")); err != nil || !bytes.Equal(b, seed) {
		t.Errorf("playbook.md is not the seed's document: %v", err)
	}
	lab2 := filepath.Join(dir, "lab2")
	if code, _, stderr := runMain("init", "--playbook", switchWal, lab2); code != 0 {
		t.Fatal(stderr)
	}
	want, _ := os.ReadFile(switchWal)
	if b, _ := os.ReadFile(filepath.Join(lab2, "playbook.md")); !bytes.Equal(b, want) {
		t.Errorf("init --playbook FILE did not write it")
	}
	code, stdout, _ := runMain("init", "--playbook", "list")
	if code != 0 || !strings.Contains(stdout, "seed ") || !strings.Contains(stdout, "28 steps") {
		t.Errorf("init --playbook list: exit %d\n%s", code, stdout)
	}
	if code, stdout, _ := runMain("playbooks"); code != 0 || !strings.Contains(stdout, "seed ") {
		t.Errorf("walstep playbooks: exit %d\n%s", code, stdout)
	}
	bad := filepath.Join(dir, "bad.md")
	_ = os.WriteFile(bad, []byte("---\nnodes:\n  primary: primary\n---\n\n## 1. A\n\n```walstep\nnope\n```\n"), 0o644)
	code, _, stderr := runMain("init", "--playbook", bad, filepath.Join(dir, "lab3"))
	if code != 1 || !strings.HasPrefix(stderr, "walstep: "+bad+":9: unknown action") {
		t.Errorf("init with a bad playbook: exit %d %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "lab3")); !os.IsNotExist(err) {
		t.Errorf("init made a lab for a playbook it refused")
	}
	if code, _, stderr := runMain("init", "--playbook", "no-such", filepath.Join(dir, "lab4")); code != 1 || !strings.Contains(stderr, "no such built-in playbook") {
		t.Errorf("init --playbook no-such: exit %d %q", code, stderr)
	}
}

// explore runs the switch-wal playbook on the Docker backend too, from a
// prefix it shares (steps 0-1), with --playbook rather than the lab's.
func TestE2EExplorePlaybookDocker(t *testing.T) {
	t.Parallel()
	requireImages(t, "walstep-test-pg:15-walg")
	dir, err := os.MkdirTemp("", "walstep-explore-docker-")
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	t.Cleanup(func() {
		if left := dockerLeftUnder(t, real); len(left) > 0 {
			t.Errorf("explore left behind: %v", left)
		}
		_ = os.RemoveAll(dir)
	})
	lab := filepath.Join(dir, "lab")
	if code := realMain([]string{"init", lab}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("init: exit %d", code)
	}
	m, code, stderr := exploreJSON(t, "--lab", lab, "--backend", "docker", "--pg", "15", "--archiver", "cp,wal-g", "--playbook", switchWal,
		"--variants", "default,no-target", "--jobs", "2", "--prefix", "wsx-"+filepath.Base(dir)[len("walstep-explore-docker-"):])
	if code != 0 {
		t.Fatalf("explore: exit %d\n%s", code, stderr)
	}
	checkCells(t, m, "docker", 2, map[string]string{"default": "healthy", "no-target": "healthy"})
}

// kill crashes a server at a chosen point, on both backends: the report
// shows the primary killed by signal 9 (exit code 137 in Docker: 128+9), pg_controldata still "in
// production" (no shutdown checkpoint).
func TestE2EPlaybookKill(t *testing.T) {
	t.Parallel()
	t.Run("local", func(t *testing.T) {
		skipWithoutPostgres(t)
		lab := filepath.Join(reachableTempDir(t), "lab")
		checkKilled(t, "--lab", lab, "--backend", "local", "--archiver", "cp")
	})
	t.Run("docker", func(t *testing.T) {
		img := requireDockerE2E(t)
		_, flags := dockerLab(t, img)
		checkKilled(t, flags...)
	})
}

func checkKilled(t *testing.T, flags ...string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := realMain(append([]string{"run", "--json", "--playbook", "testdata/playbooks/kill.md"}, flags...), &out, &errb)
	var rep struct {
		Steps []struct {
			ID, Status, Error string
		} `json:"steps"`
		Nodes []struct {
			Process     string `json:"process"`
			Detail      string `json:"process_detail"`
			Controldata struct {
				State string `json:"state"`
			} `json:"controldata"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || code != 0 {
		t.Fatalf("exit %d, %v\n%s", code, err, errb.String())
	}
	for _, s := range rep.Steps {
		if s.Status != "done" {
			t.Errorf("step %s: %s %s", s.ID, s.Status, s.Error)
		}
	}
	p := rep.Nodes[0]
	if p.Process != "crashed" || !strings.Contains(p.Detail, "signal 9") && !strings.Contains(p.Detail, "code 137") || p.Controldata.State != "in production" {
		t.Errorf("primary: %s (%s), controldata %q; want crashed by signal 9 while in production", p.Process, p.Detail, p.Controldata.State)
	}
}
