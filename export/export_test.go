package export

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"walstep/cluster"
	"walstep/pg"
	"walstep/playbook"
)

// Every verb walstep runs has a TAP form and a shell form, so every
// playbook exports.
func TestEveryVerbHasBothForms(t *testing.T) {
	for _, v := range playbook.Verbs() {
		if tapForms[v] == nil {
			t.Errorf("no TAP form for %s", v)
		}
		if shellForms[v] == nil {
			t.Errorf("no shell form for %s", v)
		}
	}
	if len(tapForms) != len(playbook.Verbs()) || len(shellForms) != len(playbook.Verbs()) {
		t.Errorf("forms for verbs the vocabulary does not have: %d TAP, %d shell, %d verbs", len(tapForms), len(shellForms), len(playbook.Verbs()))
	}
}

func testLab(t *testing.T) *cluster.Lab {
	t.Helper()
	lab, err := cluster.InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	return lab
}

func readDoc(t *testing.T, path string) *playbook.Doc {
	t.Helper()
	d, err := playbook.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A playbook using every verb, the seed and switch-wal export to a Perl
// test perl compiles and scripts (local and Docker) bash parses, for both
// outcomes.
func TestExportsCompile(t *testing.T) {
	lab := testLab(t)
	docs := []*playbook.Doc{playbook.Seed(), readDoc(t, "testdata/every-verb.md"), readDoc(t, "../testdata/playbooks/switch-wal.md")}
	lib := os.Getenv("WALSTEP_TAP_PERL5LIB")
	if lib == "" {
		lib = "/usr/lib/postgresql/15/lib/pgxs/src/test/perl"
	}
	_, statErr := os.Stat(filepath.Join(lib, "PostgreSQL/Test/Cluster.pm"))
	for _, d := range docs {
		for _, v := range []pg.Verdict{pg.VerdictDiverged, pg.VerdictHealthy} {
			o := Options{Doc: d, Lab: lab, Expect: v}
			tap, err := TAP(o)
			if err != nil {
				t.Fatalf("%s: %v", d.Name, err)
			}
			dir := t.TempDir()
			for _, docker := range []bool{false, true} {
				o.Docker, o.Image = docker, "postgres_repro:latest"
				sh, err := Script(o)
				if err != nil {
					t.Fatalf("%s: %v", d.Name, err)
				}
				sp := filepath.Join(dir, "s.sh")
				_ = os.WriteFile(sp, sh, 0o600)
				if out, err := exec.Command("bash", "-n", sp).CombinedOutput(); err != nil {
					t.Errorf("%s/%s (docker %v): bash -n: %v\n%s", d.Name, v, docker, err, out)
				}
			}
			tp := filepath.Join(dir, "t.pl")
			_ = os.WriteFile(tp, tap, 0o600)
			if statErr != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("no PostgreSQL::Test::Cluster in %s to compile the TAP test against", lib)
				}
				continue
			}
			cmd := exec.Command("perl", "-c", tp)
			cmd.Env = append(os.Environ(), "PERL5LIB="+lib)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s/%s: perl -c: %v\n%s", d.Name, v, err, out)
			}
		}
	}
}

// The quoting of actions' strings survives into Perl and bash: a quote,
// a dollar, a backtick and a variable inside a literal.
func TestExportQuoting(t *testing.T) {
	lab := testLab(t)
	d := readDoc(t, "testdata/every-verb.md")
	tap, err := TAP(Options{Doc: d, Lab: lab, Expect: pg.VerdictDiverged})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`note 'it\'s a "quoted" $HOME ` + "`word`" + `';`,
		`'include_dir = ' . conf_str('conf.d')`,
		`run_on($primary, 'sh', '-c', 'echo it\'s ' . sh_q($primary->data_dir) . ' > /dev/null');`,
		`$primary->safe_psql('postgres', 'insert into t values (\'it\'\'s\')');`,
		`primary_conninfo = 'host=@{[ $primary->host ]} port=@{[ $primary->port ]}`,
	} {
		if !strings.Contains(string(tap), want) {
			t.Errorf("the TAP test lacks %s", want)
		}
	}
	sh, err := Script(Options{Doc: d, Lab: lab, Expect: pg.VerdictDiverged})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`echo 'it'\''s a "quoted" $HOME ` + "`word`" + `'`,
		`run_on primary postgres sh -c 'echo it'\''s '"$(sh_q "$primary_data")"' > /dev/null'`,
		`primary_conninfo = 'host=$(host_of primary) port=$(port_of primary)`,
		`\${PRIMARY_HOST}`,
	} {
		if !strings.Contains(string(sh), want) {
			t.Errorf("the script lacks %s", want)
		}
	}
}

// What cannot be asserted is refused: a verdict other than diverged or
// healthy, and a playbook without an outcome to wait for.
func TestExportRefuses(t *testing.T) {
	lab := testLab(t)
	if _, err := TAP(Options{Doc: playbook.Seed(), Lab: lab, Expect: pg.VerdictUnknown}); err == nil || !strings.Contains(err.Error(), "diverged or healthy") {
		t.Errorf("unknown verdict: %v", err)
	}
	src := "---\nplaybook: p\ntitle: t\nnodes:\n  primary: primary\n---\n\n# P\n\n## 1. Init\n\n```walstep\ninitdb primary\n```\n"
	d, err := playbook.Parse("p.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Script(Options{Doc: d, Lab: lab, Expect: pg.VerdictHealthy}); err == nil || !strings.Contains(err.Error(), "wait streaming") {
		t.Errorf("no outcome: %v", err)
	}
}

// A playbook that proves its outcome from the data (the seed's step P: a
// marker written on the primary, looked for on the replica after the
// outcome) is asserted on that marker's fate, in both forms; one without
// such a step writes a marker of the export's own.
func TestExportAssertsThePlaybooksOwnMarker(t *testing.T) {
	lab := testLab(t)
	for _, v := range []pg.Verdict{pg.VerdictDiverged, pg.VerdictHealthy} {
		o := Options{Doc: playbook.Seed(), Lab: lab, Expect: v}
		tap, err := TAP(o)
		if err != nil {
			t.Fatal(err)
		}
		assertion := map[pg.Verdict]string{pg.VerdictDiverged: "ok(!$proof_seen, ", pg.VerdictHealthy: "ok($proof_seen, "}[v]
		for _, want := range []string{"write_marker($primary, 'step P');", "my $proof_seen = marker_on($replica, 'step P', 5);", assertion} {
			if !strings.Contains(string(tap), want) {
				t.Errorf("%s: the TAP test lacks %s", v, want)
			}
		}
		if strings.Contains(string(tap), "marker_seen($primary") {
			t.Errorf("%s: the TAP test writes a second marker", v)
		}
		sh, err := Script(o)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"write_marker primary 'step P'", "PROOF_WAIT=5", "if marker_on replica 'step P' 5; then PROOF_SEEN=1;"} {
			if !strings.Contains(string(sh), want) {
				t.Errorf("%s: the script lacks %s", v, want)
			}
		}
	}
	tap, err := TAP(Options{Doc: readDoc(t, "../testdata/playbooks/switch-wal.md"), Lab: lab, Expect: pg.VerdictHealthy})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(tap), "ok(marker_seen($primary, $replica, 60), ") || strings.Contains(string(tap), "$proof_seen") {
		t.Errorf("switch-wal (no proof step) is not asserted on a marker of the export's own")
	}
}
