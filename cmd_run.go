package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"walstep/cluster"
	"walstep/headless"
	"walstep/pg"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlagSet("run", &o, stderr)
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as one JSON document")
	fs.StringVar(&o.playbook, "playbook", "", playbookFlag)
	fs.BoolVar(&o.verbose, "v", false, "print each step's output as it runs")
	fs.BoolVar(&o.keep, "keep-running", false, "leave the servers running after the report, for inspection (stop them with walstep clean)")
	fs.IntVar(&o.repeat, "repeat", 1, "run the playbook N times on a freshly reset lab and report how often each verdict came out")
	fs.StringVar(&o.from, "from", "", "start each run at step ID from a checkpoint of the lab kept before it (a first full run keeps one when there is none); the steps before it are restored, not run")
	fs.StringVar(&o.expect, "expect", "", "exit with status 3 unless the verdict is this ("+verdictNames()+"); with --repeat, in every run")
	fs.StringVar(&o.markdown, "markdown", "", "write a report for an issue tracker to this new file: timelines, archive, diagnosis, versions, the lab's confs (secrets masked)")
	fs.DurationVar(&o.stall, "stall-after", 30*time.Second, "verdict \"stalled\" when the replica's replay stands still this long while the primary moves")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if o.expect != "" {
		if _, err := pg.ParseVerdict(o.expect); err != nil {
			return usageErrorf(2, "--expect: %v (see: walstep run -h)", err)
		}
	}
	if fs.NArg() > 0 {
		return usageErrorf(2, "unexpected argument %q (the lab is given with --lab)", fs.Arg(0))
	}
	if (o.transcript != "" || o.markdown != "") && o.from != "" {
		return usageErrorf(2, "--transcript and --markdown record a whole run: leave out --from")
	}
	if o.transcript != "" && o.repeat > 1 {
		return usageErrorf(2, "--transcript records one run: leave out --repeat (or --transcript)")
	}
	if o.markdown != "" && o.repeat > 1 {
		return usageErrorf(2, "--markdown reports one run: leave out --repeat (or --markdown)")
	}
	o.stopNotes = stderr
	s, err := openSession(ctx, o)
	if err != nil {
		return err
	}
	if o.markdown != "" { // before the run: a path in the way costs nothing yet
		if err := headless.CheckReportPath(s, o.markdown, o.force); err != nil {
			_ = s.Close(true)
			return err
		}
	}
	progress := stdout
	if o.jsonOut {
		progress = stderr
	}
	for _, w := range s.Why {
		fmt.Fprintf(progress, "walstep: %s\n", w)
	}
	fmt.Fprintf(progress, "walstep: lab %s\n", s.Lab.Dir)
	if o.repeat > 1 || o.from != "" {
		err := runRepeat(ctx, s, o, stdout, progress)
		reportStopErr(stderr, s.Close(!o.keep), s.Lab.Dir)
		return err
	}
	tr, err := s.NewTranscript(o.transcript, o.force)
	if err != nil {
		_ = s.Close(true)
		return err
	}
	res := headless.RunPlaybook(ctx, s, progress, o.verbose, tr)
	rep := headless.BuildReport(ctx, s, res)
	// A file the user asked for that is not there in full fails the run.
	fileFailed := false
	if tr != nil {
		if err := headless.FinishTranscript(tr, rep); err != nil {
			fmt.Fprintf(stderr, "walstep: %v\n", err)
			fileFailed = true
		} else {
			fmt.Fprintf(progress, "walstep: transcript written to %s\n", o.transcript)
		}
	}
	if o.markdown != "" { // before the servers stop: versions are read in their environment
		if err := headless.WriteMarkdown(ctx, s, rep, o.markdown, o.force, o.keep); err != nil {
			fmt.Fprintf(stderr, "walstep: %v\n", err)
			fileFailed = true
		} else {
			fmt.Fprintf(progress, "walstep: report for an issue tracker written to %s\n", o.markdown)
		}
	}
	stopErr := s.Close(!o.keep)
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else {
		headless.WriteText(stdout, rep)
		if o.keep {
			fmt.Fprintf(stdout, "\nservers left running: %s; stop them with: %s clean --lab %s\n", strings.Join(rep.AddrList(), ", "), selfCmd(), cluster.ShellQuote(s.Lab.Dir))
		}
	}
	reportStopErr(stderr, stopErr, s.Lab.Dir)
	if ctx.Err() != nil {
		return exitError{130}
	}
	if res.Failed >= 0 || fileFailed {
		return exitError{1}
	}
	if o.expect != "" && headless.Verdict(rep) != o.expect {
		fmt.Fprintf(stderr, "walstep: expected verdict %s, got %s\n", o.expect, headless.Verdict(rep))
		return exitError{exitExpect}
	}
	return nil
}

// verdictNames lists the verdicts --expect takes.
func verdictNames() string {
	var names []string
	for _, v := range pg.Verdicts {
		names = append(names, string(v))
	}
	return strings.Join(names, ", ")
}
