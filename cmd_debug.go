package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/term"

	"walstep/cast"
	"walstep/checkpoint"
	"walstep/cluster"
	"walstep/headless"
	"walstep/playbook"
	"walstep/steps"
	"walstep/transcript"
	"walstep/tui"
)

// cmdDebug opens the debugger on --lab.
func cmdDebug(ctx context.Context, args []string, stdout, stderr io.Writer) (rerr error) {
	var o options
	fs := newFlagSet("", &o, stderr)
	fs.BoolVar(&o.resume, "resume", false, "bring the lab's last debugger session back at the step it was on, from the nearest checkpoint before it (the steps between run)")
	fs.StringVar(&o.breaks, "break", "", "comma-separated step IDs to set breakpoints on, e.g. 12,F6")
	fs.StringVar(&o.record, "record", "", "record the session as an asciicast v2 file (asciinema play FILE.cast); the file must not exist")
	fs.BoolVar(&o.present, "present", false, "presenter mode: each step's note large, the verdict as a banner, stops before --present-stops (P toggles it)")
	fs.StringVar(&o.stops, "present-stops", "", "step IDs presenter mode stops before (default: the playbook's present-stops, 12,F2,F6 in the seed's)")
	fs.StringVar(&o.playbook, "playbook", "", playbookFlag)
	fs.DurationVar(&o.pause, "present-pause", 0, "in presenter mode, continue on its own this long after a stop (0: wait for c)")
	fs.DurationVar(&o.stall, "stall-after", 30*time.Second, "verdict \"stalled\" when the replica's replay stands still this long while the primary moves")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf(2, "unknown command %q: use init, run, explore or clean", fs.Arg(0))
	}
	// Check before anything starts, so no server runs behind a pipe.
	if err := checkTerminal(stdout); err != nil {
		return err
	}
	o.stopNotes = stderr
	s, err := openSession(ctx, o)
	if err != nil {
		return err
	}
	r := steps.NewRunner(s.Steps)
	r.SetReplan(s.Replan) // a hook added or removed shows at the next pass
	// g to an earlier step restores a checkpoint kept where servers start.
	keeper := checkpoint.NewKeeper(s.Env, func() *playbook.Doc { return s.Doc })
	keeper.Want = func(all []steps.Step, i int) bool { return checkpoint.AtServerStarts(s.Doc, all, i) }
	keeper.Store.Spare = true // a rewind is a rename; the copy is made while the user looks
	r.SetCheckpoints(keeper)
	if o.resume {
		if err := resumeAt(s, r); err != nil {
			_ = s.Close(true)
			return err
		}
	}
	ids := map[string]int{}
	for i, st := range s.Steps {
		ids[st.ID] = i
	}
	setBreaks := func(flag, list string) error {
		for _, id := range strings.Split(list, ",") {
			i, ok := ids[strings.TrimSpace(id)]
			if !ok {
				return fmt.Errorf("--%s %s: no such step (the playbook's IDs: %s)", flag, id, stepIDs(s.Steps))
			}
			r.SetBreakpoint(i)
		}
		return nil
	}
	// Without the flags, the playbook's own stops and breakpoints.
	var stops, marked []string
	for _, st := range s.Steps {
		if st.PresentStop {
			stops = append(stops, st.ID)
		}
		if st.Breakpoint {
			marked = append(marked, st.ID)
		}
	}
	if o.stops != "" {
		stops = nil
		for _, id := range strings.Split(o.stops, ",") {
			stops = append(stops, strings.TrimSpace(id))
		}
	}
	if o.breaks == "" {
		o.breaks = strings.Join(marked, ",")
	}
	for _, b := range []struct {
		flag, list string
		set        bool
	}{{"break", o.breaks, o.breaks != ""}, {"present-stops", strings.Join(stops, ","), o.present && len(stops) > 0}} {
		if b.set {
			if err := setBreaks(b.flag, b.list); err != nil {
				_ = s.Close(true)
				return err
			}
		}
	}
	tr, err := s.NewTranscript(o.transcript, o.force)
	if err != nil {
		_ = s.Close(true)
		return err
	}
	var rec *cast.Recorder
	if o.record != "" {
		// Last before the debugger draws: nothing has run, and an error
		// before it leaves no recording behind.
		if rec, err = startRecording(s, o.record, o.force, stdout); err != nil {
			_ = s.Close(true)
			return err
		}
		defer func() {
			if cerr := rec.Close(); cerr != nil {
				fmt.Fprintf(stderr, "walstep: %v (%s holds what was recorded before)\n", cerr, o.record)
				if rerr == nil {
					rerr = exitError{1}
				}
			} else {
				fmt.Fprintf(stderr, "walstep: session recorded in %s (play it with: asciinema play %s)\n", o.record, cluster.ShellQuote(o.record))
			}
		}()
	}
	header := fmt.Sprintf("%s · %s · %s", s.Backend.Name(), s.Archiver.Name(), s.Lab.Dir)
	res, err := runTUI(ctx, tuiConfig{
		Config: tui.Config{
			LabDir: s.Lab.Dir, Servers: s.Backend, Topology: s.Lab.Topology(), Steps: s.Steps,
			Poll: s.Poll, PollEvery: o.poll, Header: header, Why: s.Why,
			StallAfter: o.stall, ReadWAL: s.ReadWAL, Proof: s.Env.ProofInput,
			Present: o.present, PresentStops: stops, PresentPause: o.pause,
		},
		Runner: r, Stdout: stdout, Transcript: tr, Cast: rec,
	})
	if tr != nil {
		rep := headless.BuildReport(context.WithoutCancel(ctx), s, headless.RunResult{Snap: r.Snapshot(), Failed: -1, Watch: res.Watch})
		if ferr := headless.FinishTranscript(tr, rep); ferr != nil {
			fmt.Fprintf(stderr, "walstep: %v\n", ferr)
			if err == nil {
				err = exitError{1}
			}
		} else {
			fmt.Fprintf(stderr, "walstep: transcript written to %s\n", o.transcript)
		}
	}
	keeper.Store.Wait()
	if res.Resume {
		keepForResume(context.WithoutCancel(ctx), s, r, keeper, stderr)
	}
	saveResume(s, r, stderr)
	reportStopErr(stderr, s.Close(res.StopServers || ctx.Err() != nil), s.Lab.Dir)
	if !res.StopServers && ctx.Err() == nil {
		fmt.Fprintf(stderr, "walstep: servers left running; stop them with: %s clean --lab %s\n", selfCmd(), cluster.ShellQuote(s.Lab.Dir))
	}
	_ = os.Stdout.Sync()
	return err
}

// startRecording opens --record on the terminal the debugger draws on; a
// path the run would delete or one of the lab's own files is refused, an
// existing file too unless replace (--force).
func startRecording(s *headless.Session, path string, replace bool, stdout io.Writer) (*cast.Recorder, error) {
	f, ok := stdout.(*os.File)
	if !ok {
		return nil, errNotTerminal
	}
	if err := s.Lab.CheckOutputPath(path); err != nil {
		return nil, fmt.Errorf("--record: %w", err)
	}
	_, rec, err := cast.Start(path, f, "walstep: PostgreSQL concurrent-restore timeline bug", replace)
	if err != nil {
		return nil, fmt.Errorf("--record: %w", err)
	}
	return rec, nil
}

// tuiConfig is the debugger's tui.Config, which main fills from its
// session, and what main adds around the debugger: where it draws and
// what records it.
type tuiConfig struct {
	// Config is the debugger's own, but for its Runner.
	tui.Config
	// Runner is optional: nil makes one over Steps. Set breakpoints
	// (--break) on it with SetBreakpoint before calling runTUI; a
	// transcript takes its readings from it.
	Runner *steps.Runner
	Stdout io.Writer // where to draw; must be a terminal
	// Cast is optional: everything drawn is also recorded on it.
	Cast *cast.Recorder
	// Transcript is optional: each step that ends is appended to it with
	// the readings taken after it. runTUI does not finish or close it.
	Transcript *transcript.Transcript
}

// errNotTerminal is returned when walstep is asked to draw the debugger on
// something that is not a terminal (a pipe, a file, CI).
var errNotTerminal = errors.New("standard output is not a terminal, so the debugger cannot draw: use `" + selfCmd() + " run` for a headless run (progress lines and a report)")

// checkTerminal returns errNotTerminal unless w is a terminal. Call it
// before opening a session, so nothing starts that the user cannot see.
func checkTerminal(w io.Writer) error {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(f.Fd()) {
		return errNotTerminal
	}
	return nil
}

// runTUI opens the interactive debugger and returns when the user quits.
// Result.StopServers is the user's answer to "stop the servers?" (true after
// Ctrl-C, SIGTERM or a crash, so nothing is left behind a user who wanted
// out): pass it to Backend.Close, with a fresh context, since ctx may be
// cancelled by then. The runner is stopped, and a running step cancelled,
// before runTUI returns; the terminal is restored on every path. Leaving
// without answering (Ctrl-C, SIGTERM) returns exitError{130}, as a shell
// reports an interrupted command.
func runTUI(ctx context.Context, cfg tuiConfig) (tui.Result, error) {
	out := cfg.Stdout
	if out == nil {
		out = os.Stdout
	}
	if err := checkTerminal(out); err != nil {
		return tui.Result{}, err
	}
	tc := cfg.Config
	r := cfg.Runner
	if r == nil {
		r = steps.NewRunner(tc.Steps)
	}
	tc.Runner, tc.Steps = r, r.Steps()
	if t := cfg.Transcript; t != nil {
		if tc.Poll != nil {
			r.SetReadings(tc.Poll)
		}
		tc.Record = func(all []steps.Step, ev steps.Event, st steps.StepState) {
			// A transcript that cannot be written must not stop the
			// debugger; the user sees the file is short.
			_ = t.Record(all, ev, st)
		}
	}
	var drawOn io.Writer = out
	if f, ok := out.(*os.File); ok && cfg.Cast != nil {
		drawOn = cast.NewTee(f, cfg.Cast)
		tc.Mark = cfg.Cast.Marker
	}
	res, err := tui.Run(ctx, tc, tea.WithOutput(drawOn))
	if err == nil && res.Interrupted {
		err = exitError{130}
	}
	return res, err
}

// stepIDs lists the playbook's step IDs for a message, hooks left out.
func stepIDs(all []steps.Step) string {
	var ids []string
	for _, st := range all {
		if st.Hook == "" {
			ids = append(ids, st.ID)
		}
	}
	return strings.Join(ids, " ")
}

// resumeAt makes the Runner start where the lab's last session quit: a
// rewind to that step, which restores the nearest checkpoint before it
// and runs the steps between (the screen says what it restored).
func resumeAt(s *headless.Session, r *steps.Runner) error {
	rs, err := checkpoint.LoadResume(s.Lab)
	if err != nil {
		return err
	}
	for i, st := range s.Steps {
		if steps.StepKey(st) == rs.Step {
			r.Rewind(i) // waits in the Runner's queue until it runs
			return nil
		}
	}
	return fmt.Errorf("--resume: the session quit before step %s, which the playbook no longer has", rs.ID)
}

// keepForResume stops the servers and keeps a checkpoint before the step
// the session is at, so --resume restores it there without running the
// steps before; not after a step that ran partly (cancelled or failed),
// whose lab is no step's end.
func keepForResume(ctx context.Context, s *headless.Session, r *steps.Runner, k *checkpoint.Keeper, stderr io.Writer) {
	for _, n := range s.Lab.Topology().StopOrder() {
		if err := s.Backend.Stop(ctx, n, io.Discard); err != nil {
			fmt.Fprintf(stderr, "walstep: no checkpoint kept to resume at: stop %s: %v\n", n, err)
			return
		}
	}
	snap, all := r.Snapshot(), r.Steps()
	cur := snap.Cursor
	if cur <= 0 || cur >= len(all) {
		return
	}
	if st := snap.States[cur].Status; st == steps.Failed || st == steps.Running {
		fmt.Fprintf(stderr, "walstep: no checkpoint kept before step %s: it ran partly, so --resume restores an earlier one and runs the steps between\n", all[cur].ID)
		return
	}
	if line := k.KeepBefore(ctx, all, cur); line != "" {
		fmt.Fprintf(stderr, "walstep: %s\n", line)
	}
}

// saveResume records where the session is as it quits, for --resume.
func saveResume(s *headless.Session, r *steps.Runner, stderr io.Writer) {
	snap := r.Snapshot()
	all := r.Steps()
	rs := checkpoint.Resume{Quit: time.Now()}
	if snap.Cursor < len(all) {
		rs.Step, rs.ID = steps.StepKey(all[snap.Cursor]), all[snap.Cursor].ID
	} else {
		rs.Step, rs.ID, rs.Ended = steps.StepKey(all[len(all)-1]), all[len(all)-1].ID, true
	}
	if err := checkpoint.SaveResume(s.Lab, rs); err != nil {
		fmt.Fprintf(stderr, "walstep: %v\n", err)
		return
	}
	if rs.Step != steps.StepKey(all[0]) {
		fmt.Fprintf(stderr, "walstep: %s --resume --lab %s brings this session back at step %s\n", selfCmd(), cluster.ShellQuote(s.Lab.Dir), rs.ID)
	}
}
