package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"walstep/cluster"
	"walstep/pg"
	"walstep/playbook"
)

// clientTAPModules is where Debian's postgresql-client-15 installs
// PostgreSQL::Test::Cluster and its companions.
const clientTAPModules = "/usr/lib/postgresql/15/lib/pgxs/src/test/perl"

// tapSetup finds what prove needs to run an exported test: the modules
// (WALSTEP_TAP_PERL5LIB, which scripts/test.sh exports, or the client
// package's copy), pg_regress and IPC::Run. Under CI=true a missing piece
// fails the test, since CI must run it.
func tapSetup(t *testing.T) (lib, regress string) {
	t.Helper()
	lib = os.Getenv("WALSTEP_TAP_PERL5LIB")
	if lib == "" {
		lib = clientTAPModules
	}
	regress = "/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress"
	var missing []string
	if _, err := os.Stat(filepath.Join(lib, "PostgreSQL", "Test", "Cluster.pm")); err != nil {
		missing = append(missing, "PostgreSQL::Test::Cluster in "+lib)
	}
	if _, err := os.Stat(regress); err != nil {
		missing = append(missing, "pg_regress (postgresql-client-15)")
	}
	if _, err := exec.LookPath("prove"); err != nil {
		missing = append(missing, "prove")
	}
	if err := exec.Command("perl", "-MIPC::Run", "-e", "1").Run(); err != nil {
		missing = append(missing, "IPC::Run (libipc-run-perl)")
	}
	if len(missing) > 0 {
		msg := "cannot run exported TAP tests: missing " + strings.Join(missing, ", ") + " (scripts/test.sh installs them)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return lib, regress
}

// asServerUser runs cmd as postgres when the test runs as root, as
// PostgreSQL's own TAP tests must (initdb refuses root).
func asServerUser(t *testing.T, dir string, cmd *exec.Cmd) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("the TAP test must run as postgres: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}); err != nil {
		t.Fatal(err)
	}
	cmd.Args = append([]string{"runuser", "-u", "postgres", "--"}, cmd.Args...)
	cmd.Path = "/usr/sbin/runuser"
	if p, err := exec.LookPath("runuser"); err == nil {
		cmd.Path = p
	}
}

// prove runs one exported test with PostgreSQL 15's TAP framework and
// returns its verbose output and whether it passed.
func prove(t *testing.T, dir, test, lib, regress string) (string, bool) {
	t.Helper()
	cmd := exec.Command("prove", "-v", test)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TESTDIR="+dir, "PG_REGRESS="+regress, "PERL5LIB="+lib,
		"PATH=/usr/lib/postgresql/15/bin:"+os.Getenv("PATH"))
	asServerUser(t, dir, cmd)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// The playbook exported from a run's report, for the default lab
// (diverged) and the no-target lab (healthy): the TAP test passes under
// prove, asserting the refusal or the streaming and the marker row's fate;
// the script prints the outcome walstep saw; and a TAP test asserting
// diverged on the healthy lab fails, so its assertions can.
func TestE2EExportTAPAndScript(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lib, regress := tapSetup(t)
	cases := []struct {
		name, restore string
		want          pg.Verdict
		log, marker   string
		fate          string // the proof step's line
	}{
		{"default", "", pg.VerdictDiverged, "requested starting point .* is ahead of the WAL flush position", "ok 2 - a row committed on primary never reaches replica", "marker walstep-[0-9T.]+ did not reach the replica within 5s"},
		{"no-target", "#recovery_target = 'immediate'\n", pg.VerdictHealthy, "outcome: streaming", "ok 2 - a row committed on primary reaches replica", "marker walstep-[0-9T.]+ reached the replica after"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			work := reachableTempDir(t)
			lab := filepath.Join(work, "lab")
			if code, _, stderr := runMain("init", lab); code != 0 {
				t.Fatalf("init: %s", stderr)
			}
			t.Cleanup(func() { _, _, _ = runMain("clean", "--lab", lab) })
			if c.restore != "" {
				if err := os.WriteFile(filepath.Join(lab, cluster.PrimaryRestore), []byte(c.restore), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// The seed ends with its proof step: a marker row written on
			// the primary, looked for on the replica.
			seed, err := playbook.BuiltinSource("seed")
			if err != nil {
				t.Fatal(err)
			}
			pbook := filepath.Join(work, "seed.md")
			if err := os.WriteFile(pbook, seed, 0o644); err != nil {
				t.Fatal(err)
			}
			code, jout, stderr := runMain("run", "-v", "--json", "--lab", lab, "--backend", "local", "--archiver", "cp", "--playbook", pbook)
			if !regexp.MustCompile(c.fate).MatchString(stderr) {
				t.Errorf("the proof step's output lacks %q:\n%s", c.fate, stderr)
			}
			var rep struct {
				Diagnosis *pg.Diagnosis `json:"diagnosis"`
			}
			if err := json.Unmarshal([]byte(jout), &rep); err != nil || rep.Diagnosis == nil || rep.Diagnosis.Verdict != c.want {
				t.Fatalf("walstep run (exit %d): want %s, got %+v (%v)\n%s", code, c.want, rep.Diagnosis, err, stderr)
			}
			// The diagnosis's proof reads the same marker the exports assert on.
			if p := rep.Diagnosis.Proof; p == nil || p.Status != pg.ProofAgrees || p.Marker == nil || !strings.Contains(stderr, "wrote marker row "+p.Marker.ID) {
				t.Errorf("the diagnosis's proof %+v is not of the proof step's marker", p)
			}
			report := filepath.Join(work, "report.json")
			if err := os.WriteFile(report, []byte(jout), 0o600); err != nil {
				t.Fatal(err)
			}
			tdir := filepath.Join(work, "tap")
			tap, script := filepath.Join(tdir, "t", "001_"+strings.ReplaceAll(c.name, "-", "_")+".pl"), filepath.Join(work, c.name+".sh")
			if err := os.MkdirAll(filepath.Dir(tap), 0o755); err != nil {
				t.Fatal(err)
			}
			if code, out, stderr := runMain("export", "--lab", lab, "--playbook", pbook, "--report", report, "--tap", tap, "--script", script); code != 0 {
				t.Fatalf("export: exit %d\n%s%s", code, out, stderr)
			}
			for _, p := range []string{tap, script} {
				if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v, mode %v; want a new 0600 file", p, err, st.Mode())
				}
			}
			if code, _, stderr := runMain("export", "--lab", lab, "--report", report, "--tap", tap); code == 0 || !strings.Contains(stderr, "exists") {
				t.Errorf("a second export over %s without --force: exit %d, %s", tap, code, stderr)
			}

			out, ok := prove(t, tdir, filepath.Join("t", filepath.Base(tap)), lib, regress)
			if !ok || !strings.Contains(out, "Result: PASS") || !strings.Contains(out, c.marker) {
				t.Fatalf("prove %s: passed=%v\n%s", tap, ok, out)
			}
			if !regexp.MustCompile(c.log).MatchString(out) || !strings.Contains(out, "# the marker "+map[pg.Verdict]string{pg.VerdictDiverged: "did not reach replica within 5s", pg.VerdictHealthy: "reached replica"}[c.want]) {
				t.Errorf("prove's output lacks %q:\n%s", c.log, out)
			}

			// The script runs itself as postgres when started as root: its
			// work dir must be theirs.
			runDir := filepath.Join(work, "script-run")
			if err := os.Mkdir(runDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if os.Geteuid() == 0 {
				if u, err := user.Lookup("postgres"); err == nil {
					uid, _ := strconv.Atoi(u.Uid)
					gid, _ := strconv.Atoi(u.Gid)
					_ = os.Chown(runDir, uid, gid)
				}
			}
			sh := exec.Command("bash", script, runDir)
			sout, err := sh.CombinedOutput()
			lines := strings.Split(strings.TrimSpace(string(sout)), "\n")
			if err != nil || len(lines) < 2 || !strings.HasPrefix(lines[len(lines)-2], string(c.want)+": ") || lines[len(lines)-1] != "walstep saw: "+string(c.want) {
				t.Fatalf("the exported script (%v) does not end on %s:\n%s", err, c.want, sout)
			}
			stepFate := map[pg.Verdict]string{pg.VerdictDiverged: "the marker did not reach replica within 5s", pg.VerdictHealthy: "the marker reached replica"}[c.want]
			if !strings.Contains(string(sout), "\n"+stepFate+"\n") {
				t.Errorf("the script's proof step does not say %q:\n%s", stepFate, sout)
			}
			t.Logf("script: %s", lines[len(lines)-2])

			// The other outcome asserted: the same test fails. On the
			// healthy lab, where that fails at once.
			if c.want != pg.VerdictHealthy {
				return
			}
			other := pg.VerdictDiverged
			wrong := filepath.Join(tdir, "t", "002_wrong.pl")
			if code, _, stderr := runMain("export", "--lab", lab, "--expect", string(other), "--tap", wrong); code != 0 {
				t.Fatalf("export --expect %s: %s", other, stderr)
			}
			if out, ok := prove(t, tdir, filepath.Join("t", "002_wrong.pl"), lib, regress); ok {
				t.Errorf("a TAP test asserting %s on the %s lab passed:\n%s", other, c.name, out)
			}
		})
	}
}
