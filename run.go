package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"walstep/cluster"
	"walstep/pg"
	"walstep/steps"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlagSet("run", &o, stderr)
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as one JSON document")
	fs.BoolVar(&o.verbose, "v", false, "print each step's output as it runs")
	fs.BoolVar(&o.keep, "keep-running", false, "leave the servers running after the report, for inspection (stop them with walstep clean)")
	fs.IntVar(&o.repeat, "repeat", 1, "run the playbook N times on a freshly reset lab and report how often each verdict came out")
	fs.StringVar(&o.expect, "expect", "", "exit with status 3 unless the verdict is this (diverged, healthy, stalled, unknown); with --repeat, in every run")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	switch o.expect {
	case "", "diverged", "healthy", "stalled", "unknown":
	default:
		return fmt.Errorf("--expect %q: use diverged, healthy, stalled or unknown", o.expect)
	}
	if o.repeat < 1 {
		return fmt.Errorf("--repeat %d: give a count of 1 or more", o.repeat)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (the lab is given with --lab)", fs.Arg(0))
	}
	s, err := openSession(ctx, o)
	if err != nil {
		return err
	}
	progress := stdout
	if o.jsonOut {
		progress = stderr
	}
	for _, w := range s.why {
		fmt.Fprintf(progress, "walstep: %s\n", w)
	}
	fmt.Fprintf(progress, "walstep: lab %s\n", s.lab.Dir)
	if o.repeat > 1 {
		err := runRepeat(ctx, s, o, stdout, progress)
		reportStopErr(stderr, s.close(!o.keep), s.lab.Dir)
		return err
	}
	var tr *steps.Transcript
	if o.transcript != "" {
		tr, err = s.newTranscript(o.transcript)
		if err != nil {
			_ = s.close(true)
			return err
		}
	}
	res := runPlaybook(ctx, s, progress, o.verbose, tr)
	rep := buildReport(ctx, s, res)
	if tr != nil {
		if err := finishTranscript(tr, rep); err != nil {
			fmt.Fprintf(stderr, "walstep: %v\n", err)
		} else {
			fmt.Fprintf(progress, "walstep: transcript written to %s\n", o.transcript)
		}
	}
	stopErr := s.close(!o.keep)
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else {
		writeTextReport(stdout, rep)
		if o.keep {
			fmt.Fprintf(stdout, "\nservers left running: %s; stop them with: walstep clean --lab %s\n", strings.Join(rep.addrs(), ", "), cluster.ShellQuote(s.lab.Dir))
		}
	}
	reportStopErr(stderr, stopErr, s.lab.Dir)
	if ctx.Err() != nil {
		return exitError{130}
	}
	if res.failed >= 0 {
		return exitError{1}
	}
	if o.expect != "" && reportVerdict(rep) != o.expect {
		fmt.Fprintf(stderr, "walstep: expected verdict %s, got %s\n", o.expect, reportVerdict(rep))
		return exitError{exitExpect}
	}
	return nil
}

// runResult is how a headless playbook run ended.
type runResult struct {
	snap   steps.Snapshot
	failed int // index of the failed step, -1 when none
}

// runPlaybook runs every step with continue and prints a line as each step
// starts and ends.
func runPlaybook(ctx context.Context, s *session, w io.Writer, verbose bool, tr ...*steps.Transcript) runResult {
	r := steps.NewRunner(s.steps)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { // owned here: joined through done
		defer close(done)
		_ = r.Run(rctx)
	}()
	r.Continue()
	res := runResult{failed: -1}
	total := len(s.steps)
loop:
	for e := range r.Events() {
		switch e.Kind {
		case steps.StepStarted:
			st := s.steps[e.Index]
			fmt.Fprintf(w, "[%2d/%d] %-4s %s ...\n", e.Index+1, total, st.ID, st.Title)
		case steps.StepOutput:
			if verbose {
				fmt.Fprintf(w, "         | %s\n", e.Line)
			}
		case steps.StepFinished:
			st := s.steps[e.Index]
			line := fmt.Sprintf("[%2d/%d] %-4s %s: %s in %s", e.Index+1, total, st.ID, st.Title, e.Status, e.Duration.Round(time.Millisecond))
			if e.Err != nil {
				line += "\n         error: " + e.Err.Error()
			}
			fmt.Fprintln(w, line)
			for _, t := range tr {
				if t != nil {
					snap := s.poller.Poll(ctx)
					_ = t.Step(st, r.Snapshot().States[e.Index], &snap)
				}
			}
			if e.Status == steps.Failed && !verbose {
				out := r.Snapshot().States[e.Index].Output
				if len(out) > 15 {
					out = out[len(out)-15:]
				}
				for _, l := range out {
					fmt.Fprintf(w, "         | %s\n", l)
				}
			}
		case steps.Idle:
			if e.Reason == steps.ReasonFailed {
				res.failed = e.Cursor
			}
			break loop
		}
	}
	res.snap = r.Snapshot()
	cancel()
	for range r.Events() { // drain until Run closes the channel
	}
	<-done
	if ctx.Err() != nil && res.failed < 0 {
		for i, st := range res.snap.States {
			if st.Status == steps.Failed || st.Status == steps.Running {
				res.failed = i
			}
		}
	}
	return res
}

// StepReport is one step in the report.
type StepReport struct {
	ID       string       `json:"id"`
	Seed     string       `json:"seed"`
	Title    string       `json:"title"`
	Status   steps.Status `json:"status"`
	Duration string       `json:"duration"`
	Seconds  float64      `json:"seconds"`
	Error    string       `json:"error,omitempty"`
}

// Report is what `walstep run` prints, as text or JSON.
type Report struct {
	Lab       string            `json:"lab"`
	Backend   string            `json:"backend"`
	Archiver  string            `json:"archiver"`
	Steps     []StepReport      `json:"steps"`
	Nodes     [2]pg.Reading     `json:"nodes"`
	Archive   pg.Archive        `json:"archive"`
	Histories []pg.History      `json:"histories"`
	Addrs     map[string]string `json:"addresses"`
	Snapshot  pg.Snapshot       `json:"-"`
	Diagnosis *pg.Diagnosis     `json:"diagnosis,omitempty"`
}

func (r Report) addrs() []string {
	var out []string
	for _, n := range cluster.Nodes {
		out = append(out, string(n)+" "+r.Addrs[string(n)])
	}
	return out
}

func buildReport(ctx context.Context, s *session, res runResult) Report {
	rep := Report{Lab: s.lab.Dir, Backend: s.backend.Name(), Archiver: s.archiver.Name()}
	for i, st := range s.steps {
		ss := res.snap.States[i]
		sr := StepReport{ID: st.ID, Seed: st.Seed, Title: st.Title, Status: ss.Status, Duration: ss.Duration.Round(time.Millisecond).String(), Seconds: ss.Duration.Seconds()}
		if ss.Err != nil {
			sr.Error = ss.Err.Error()
		}
		rep.Steps = append(rep.Steps, sr)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	snap := s.poller.Poll(pctx)
	rep.Snapshot = snap
	rep.Nodes = [2]pg.Reading{snap.Primary, snap.Replica}
	rep.Archive = snap.Archive
	rep.Histories = snap.Histories
	rep.Addrs = map[string]string{}
	for _, n := range cluster.Nodes {
		rep.Addrs[string(n)] = s.backend.Addr(n)
	}
	addDiagnosis(&rep)
	return rep
}

// reportStopErr prints a failure to stop the servers as one line that says
// what to do.
func reportStopErr(w io.Writer, err error, lab string) {
	switch {
	case err == nil:
	case errors.Is(err, cluster.ErrDockerUnavailable):
		fmt.Fprintf(w, "walstep: could not stop the containers: the docker engine is not reachable; once it is back, run: walstep clean --lab %s\n", cluster.ShellQuote(lab))
	default:
		fmt.Fprintf(w, "walstep: stop servers: %s (run: walstep clean --lab %s)\n", strings.ReplaceAll(err.Error(), "\n", "; "), cluster.ShellQuote(lab))
	}
}
