package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Headless commands never talk to the terminal: no background-colour query
// (OSC 11) and no cursor-position report (CSI 6n) reach the tty, which a
// terminal would answer with bytes the shell then sees as typed input.
func TestNoTerminalQueries(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("util-linux script is not installed")
	}
	bin := buildWalstep(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	for _, args := range [][]string{
		{"run", "--help"},
		{"--bogus-flag"},
		{"init", lab},
		{"explore", "--bogus-flag"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		line := bin + " " + strings.Join(args, " ")
		// script gives the command a pty as its terminal and copies
		// everything written to it.
		cmd := exec.CommandContext(ctx, script, "-qec", line, "/dev/null")
		cmd.Env = append(cmd.Environ(), "TERM=xterm-256color", "CI=")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		_ = cmd.Run()
		cancel()
		got := out.String()
		if !strings.Contains(got, "walstep") {
			t.Errorf("%s: no output captured, the check would prove nothing:\n%q", line, got)
		}
		for _, q := range []string{"\x1b]11;", "\x1b[6n"} {
			if strings.Contains(got, q) {
				t.Errorf("%s: wrote terminal query %q:\n%q", line, q, got)
			}
		}
	}
}
