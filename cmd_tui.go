package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"walstep/cluster"
	"walstep/steps"
)

// cmdTUI opens the debugger on --lab (see main_tui.go for the wiring).
func cmdTUI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlagSet("", &o, stderr)
	fs.StringVar(&o.breaks, "break", "", "comma-separated step IDs to set breakpoints on, e.g. 12,F6")
	fs.DurationVar(&o.stall, "stall-after", 30*time.Second, "verdict \"stalled\" when the replica's replay stands still this long while the primary moves")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unknown command %q: use init, run or clean", fs.Arg(0))
	}
	// Check before anything starts, so no server runs behind a pipe.
	if err := checkTerminal(stdout); err != nil {
		return err
	}
	s, err := openSession(ctx, o)
	if err != nil {
		return err
	}
	r := steps.NewRunner(s.steps)
	if o.breaks != "" {
		ids := map[string]int{}
		for i, st := range s.steps {
			ids[st.ID] = i
		}
		for _, id := range strings.Split(o.breaks, ",") {
			i, ok := ids[strings.TrimSpace(id)]
			if !ok {
				_ = s.close(true)
				return fmt.Errorf("--break %s: no such step (IDs are 0, 1 … 4a … 13, F1 … F6)", id)
			}
			r.SetBreakpoint(i)
		}
	}
	var tr *steps.Transcript
	if o.transcript != "" {
		tr, err = s.newTranscript(o.transcript)
		if err != nil {
			_ = s.close(true)
			return err
		}
	}
	header := fmt.Sprintf("%s · %s · %s", s.backend.Name(), s.archiver.Name(), s.lab.Dir)
	stop, err := runTUI(ctx, tuiConfig{
		Lab: s.lab, Backend: s.backend, Steps: s.steps, Runner: r,
		Poll: s.poller.Poll, PollEvery: o.poll, Header: header,
		Stdout: stdout, Transcript: tr, StallAfter: o.stall,
	})
	if tr != nil {
		rep := buildReport(context.WithoutCancel(ctx), s, runResult{snap: r.Snapshot(), failed: -1})
		if ferr := finishTranscript(tr, rep); ferr != nil {
			fmt.Fprintf(stderr, "walstep: %v\n", ferr)
		} else {
			fmt.Fprintf(stderr, "walstep: transcript written to %s\n", o.transcript)
		}
	}
	reportStopErr(stderr, s.close(stop || ctx.Err() != nil), s.lab.Dir)
	if !stop && ctx.Err() == nil {
		fmt.Fprintf(stderr, "walstep: servers left running; stop them with: walstep clean --lab %s\n", cluster.ShellQuote(s.lab.Dir))
	}
	_ = os.Stdout.Sync()
	return err
}
