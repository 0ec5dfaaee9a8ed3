package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"walstep/headless"
)

// exitExpect is the exit status when --expect does not match the verdict.
const exitExpect = 3

// runRepeat is run --repeat N and run --from: the runs, their report, and
// the exit status they come to.
func runRepeat(ctx context.Context, s *headless.Session, o options, stdout, progress io.Writer) error {
	ro := headless.RepeatOptions{N: o.repeat, Expect: o.expect}
	if o.from != "" {
		f, err := setupFrom(s, o.from)
		if err != nil {
			return err
		}
		ro.From = s.Steps[f.at].ID
		ro.Before = func(progress io.Writer) { f.before(s, progress) }
	}
	rr, failed, err := headless.Repeat(ctx, s, ro, progress)
	if err != nil {
		return err
	}
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rr); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else {
		headless.WriteRepeatText(stdout, rr)
	}
	switch {
	case ctx.Err() != nil:
		return exitError{130}
	case o.expect != "" && rr.Matched != len(rr.Runs):
		fmt.Fprintf(progress, "walstep: expected %s in every run, got it in %d of %d\n", o.expect, rr.Matched, len(rr.Runs))
		return exitError{exitExpect}
	case failed:
		return exitError{1}
	}
	return nil
}
