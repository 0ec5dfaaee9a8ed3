package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"walstep/headless"
)

// walstep -h lists the sub-commands, then the debugger's flags.
func TestHelpListsSubcommands(t *testing.T) {
	var out, errb bytes.Buffer
	code := realMain([]string{"-h"}, &out, &errb)
	all := out.String() + errb.String()
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"walstep init DIR", "walstep run [flags]", "walstep clean [flags]", "walstep export [flags]", "-lab"} {
		if !strings.Contains(all, want) {
			t.Errorf("walstep -h lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "Usage of walstep :") {
		t.Errorf("walstep -h prints flag's bare usage line:\n%s", all)
	}
}

// The --repeat timing table keeps its columns on long titles and hook IDs.
func TestRepeatTableAligned(t *testing.T) {
	var b bytes.Buffer
	headless.WriteRepeatText(&b, headless.RepeatReport{Steps: []headless.StepStats{
		{ID: "1", Title: "Initialise the primary's data dir", Median: 1.2, Min: 1, Max: 2},
		{ID: "F2", Title: "Start the replica; it shuts down at its recovery target", Median: 0.3, Min: 0.2, Max: 0.4},
		{ID: "13+1", Title: "Hook after-13.primary.sql on the primary", Median: 12.5, Min: 0.1, Max: 30},
	}})
	col := -1
	for _, l := range strings.Split(b.String(), "\n") {
		i := strings.Index(l, " (")
		if i < 0 || !strings.HasPrefix(l, "  ") {
			continue
		}
		if n := len([]rune(l[:i])); col < 0 {
			col = n
		} else if n != col {
			t.Errorf("row ends its median at column %d, not %d:\n%s", n, col, b.String())
		}
	}
	if col < 0 {
		t.Fatalf("no rows:\n%s", b.String())
	}
}

// Hints name the command the user ran: `go run .` for go run's binary
// (fresh or cached), walstep otherwise.
func TestSelfCmd(t *testing.T) {
	old := os.Args[0]
	defer func() { os.Args[0] = old }()
	for exe, want := range map[string]string{
		"/tmp/go-build4145692038/b001/exe/walstep":    "go run .",
		"/root/.cache/go-build/8f/8fe32469-d/walstep": "go run .",
		"/tmp/go-build123/b001/walstep.test":          "walstep",
		"/usr/local/bin/walstep":                      "walstep",
		"./walstep":                                   "walstep",
	} {
		os.Args[0] = exe
		if got := selfCmd(); got != want {
			t.Errorf("selfCmd for %s = %q, want %q", exe, got, want)
		}
	}
}
