package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// fieldCase is one variant of a field scenario as its plain script
// (testdata/field/) measured it: the outcome the marker row gives and a
// line the diverged node's log or the script's output holds.
type fieldCase struct {
	script, variant string
	outcome         string // "healthy" or "diverged NODE..."
	evidence        string // a regexp the output matches; "" for none
}

// fieldCases are the outcomes the README's matrix records for the field
// scenarios; each is what every measured run gave.
var fieldCases = []fieldCase{
	{"failover-old-primary-archives", "old-primary-archives", "diverged C", `(?s)lsn: 0/0[0-9A-F]+, prev [0-9A-F/]+, desc: SWITCH.*node C: marker missing.*restored log file "00000001000000000000000[0-9A-F]" from archive`},
	{"failover-old-primary-archives", "standby-first", "healthy", ""},
	{"failover-old-primary-archives", "history-late", "diverged C", `new timeline 2 forked off current database system timeline 1 before current recovery point|on timeline 1 is not in this server's history`},
	{"failover-old-primary-archives", "rejoin-as-standby", "healthy", ""},
	{"failover-old-primary-archives", "a-rewound", "diverged C", `(?s)servers diverged at WAL location [0-9A-F/]+ on timeline 1.*node A: marker present.*node C: marker missing`},
	{"double-promotion", "a-follows-b", "diverged A", `requested timeline 2 is not a child of this server's history`},
	{"double-promotion", "b-follows-a", "diverged B", `highest timeline 1 of the primary is behind recovery timeline 2`},
	{"double-promotion", "both-promoted", "diverged A", `(?s)A: selected new timeline ID: 2; B: selected new timeline ID: 2.*requested starting point [0-9A-F/]+ is ahead of the WAL flush position`},
	{"double-promotion", "rewind", "healthy", `(?s)pg_rewind: ok.*node A: no split-brain row`},
	{"double-promotion", "rewind-no-checkpoint", "healthy", `(?s)B's control file: Latest checkpoint's TimeLineID: 2.*pg_rewind: ok`},
	{"double-promotion", "rewind-no-hints", "diverged A", `wal_log_hints`},
	{"stray-timeline", "latest", "diverged S", `(?s)highest timeline 1 of the primary is behind recovery timeline 2.*node S: holds the test-restore row`},
	{"stray-timeline", "latest-past-fork", "diverged S", `requested timeline 2 is not a child of this server's history`},
	{"stray-timeline", "current", "healthy", `node S: holds the production row`},
	{"stray-timeline", "timeline-1", "healthy", `node S: holds the production row`},
}

// TestE2EFieldScripts runs each field scenario's plain script (PostgreSQL
// 15, no walstep) and checks the outcome its marker row gives: the truth
// the playbooks of these scenarios are judged against.
func TestE2EFieldScripts(t *testing.T) {
	skipWithoutPostgres(t)
	if _, err := exec.LookPath("runuser"); err != nil {
		t.Skip("the field scripts run the servers as postgres with runuser")
	}
	outcome := regexp.MustCompile(`(?m)^OUTCOME: (.*)$`)
	for _, c := range fieldCases {
		c := c
		t.Run(c.script+"/"+c.variant, func(t *testing.T) {
			t.Parallel()
			out, err := fieldScript(c.script, c.variant)
			m := outcome.FindSubmatch(out)
			if err != nil || m == nil {
				t.Fatalf("script failed (%v), no outcome:\n%s", err, out)
			}
			if got := strings.TrimSpace(string(m[1])); got != c.outcome {
				t.Errorf("outcome %q, measured %q:\n%s", got, c.outcome, out)
			}
			if c.evidence != "" && !regexp.MustCompile(c.evidence).Match(out) {
				t.Errorf("output lacks %q:\n%s", c.evidence, out)
			}
		})
	}
}
