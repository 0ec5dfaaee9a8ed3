package main

import (
	"context"
	"errors"
	"io"
)

// cmdTUI opens the debugger (wired to the tui package in main_tui.go).
func cmdTUI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("the debugger is not wired yet: use walstep run")
}
