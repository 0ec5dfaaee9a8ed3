package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"walstep/cluster"
	"walstep/pg"
	"walstep/playbook"
	"walstep/steps"
	"walstep/transcript"
	"walstep/untrusted"
)

// session wires a lab, a backend, an archiver, the playbook and the poller;
// `run` and the TUI both drive one.
type session struct {
	lab      *cluster.Lab
	backend  cluster.Backend
	archiver cluster.Archiver
	env      *steps.Env
	steps    []steps.Step
	poller   *pg.Poller
	poll     func(context.Context) pg.Snapshot // s.poller.Poll; tests replay polls
	stall    time.Duration                     // --stall-after, for pg.Watch
	why      []string                          // how the backend and archiver were chosen
	lock     *cluster.LabLock                  // held for the session's life
	doc      *playbook.Doc                     // the playbook the steps come from
	docFile  string                            // the file it was read from; "" for a built-in one
	// keeper, when set, keeps checkpoints as steps end; from > 0 makes
	// runPlaybook start there from the nearest one (run --from).
	keeper steps.Checkpointer
	from   int
}

// openSession builds a session from the flags and checks that the chosen
// backend can work, with a one-line error when it cannot.
func openSession(ctx context.Context, o options) (*session, error) {
	oo := cluster.OpenOptions{
		Backend: o.backend, Archiver: o.archiver, WalG: o.walg, PGBin: o.pgBin,
		Image: o.image, InitImage: o.initImage, Prefix: o.prefix,
		StopNotes: o.stopNotes,
	}
	if err := oo.CheckChoice(); err != nil {
		return nil, usageErrorf(2, "%v", err)
	}
	_, statErr := os.Stat(o.lab)
	fresh := errors.Is(statErr, fs.ErrNotExist)
	// A --playbook that does not parse stops here, before the lab is made
	// or touched.
	var doc *playbook.Doc
	docFile := ""
	if o.playbook != "" {
		d, file, err := loadPlaybook(o.playbook)
		if err != nil {
			return nil, err
		}
		doc, docFile = d, file
	}
	lab, err := cluster.OpenOrInitLab(o.lab)
	if err != nil {
		return nil, err
	}
	if fresh && doc == nil {
		if _, err := writeLabPlaybook(lab, mustSeedSource()); err != nil {
			return nil, err
		}
	}
	if doc == nil {
		if doc, docFile, err = labPlaybook(lab); err != nil {
			return nil, err
		}
	}
	// One session per lab: two would delete each other's data dirs and
	// stop each other's servers.
	lock, err := lab.Lock(strings.Join(os.Args[1:], " "))
	if err != nil {
		return nil, err
	}
	opened := false
	defer func() {
		if !opened {
			_ = lock.Release()
			if fresh {
				// A lab made for a session that could not open (no
				// Docker engine, say) is not left behind.
				_ = os.RemoveAll(lab.Dir)
			}
		}
	}()
	// The lab's own files go where the server user reads them: a link
	// among them that leaves the lab stops the session here.
	if err := lab.CheckOwnFiles(); err != nil {
		return nil, err
	}
	b, arc, why, err := cluster.Open(ctx, lab, oo)
	if err != nil {
		return nil, err
	}
	s := &session{lab: lab, backend: b, archiver: arc, why: why, lock: lock, doc: doc, docFile: docFile}
	to := steps.Timeouts{Hook: o.hookTO}
	if o.waitSet {
		to.Wait = o.stepTO
	}
	s.env = &steps.Env{Lab: lab, Backend: s.backend, Archiver: arc, Timeouts: to}
	s.steps = s.bind(s.doc)
	hooks, warnings, err := steps.FindHooks(lab, s.steps)
	if err != nil {
		_ = s.backend.Close(ctx, false)
		return nil, err
	}
	s.steps = s.withHooks(hooks)
	for _, h := range hooks {
		s.why = append(s.why, fmt.Sprintf("hook %s runs after step %s", filepath.Base(h.Path), h.After))
	}
	s.why = append(s.why, warnings...)
	s.poller = pg.NewPoller(s.backend, pg.PollerOptions{})
	s.poll, s.stall = s.poller.Poll, o.stall
	opened = true
	return s, nil
}

// withHooks is the playbook with hooks inserted, each step telling of a
// server PANIC when it fails.
func (s *session) withHooks(hooks []steps.Hook) []steps.Step {
	return steps.WithPanicHints(s.env, steps.WithHooks(s.env, s.bind(s.doc), hooks))
}

// bind makes doc's steps for this session; a playbook from a file is read
// again as each step starts, so an edit shows at the next retry.
func (s *session) bind(doc *playbook.Doc) []steps.Step {
	if s.docFile != "" {
		return steps.BindFile(s.env, doc, s.docFile)
	}
	return steps.Bind(s.env, doc)
}

// replan is the playbook as the lab's hooks/ holds it now, for a new pass
// (steps.Runner.SetReplan), with the hook files it ignores and why; nil,
// keeping the one there is, when hooks/ cannot be read.
func (s *session) replan() ([]steps.Step, []string) {
	var notes []string
	if s.docFile != "" {
		// Steps added or removed since count from this pass; a file that
		// no longer parses keeps the steps there are, says why here, and
		// each step says it again as it starts.
		if d, err := playbook.ReadFile(s.docFile); err == nil {
			s.doc = d
		} else {
			notes = append(notes, fmt.Sprintf("the playbook as before: %v", err))
		}
	}
	hooks, warnings, err := steps.FindHooks(s.lab, s.bind(s.doc))
	if err != nil {
		return nil, append(notes, fmt.Sprintf("hooks as before: %v", err))
	}
	return s.withHooks(hooks), append(notes, warnings...)
}

// newTranscript starts a transcript of this session at path; none (nil)
// when path is empty (no --transcript).
// It refuses a path the run would delete or one of the lab's own files,
// and an existing file unless replace (--force) is set.
func (s *session) newTranscript(path string, replace bool) (*transcript.Transcript, error) {
	if path == "" {
		return nil, nil
	}
	if err := s.lab.CheckOutputPath(path); err != nil {
		return nil, fmt.Errorf("--transcript: %w", err)
	}
	return transcript.Open(path, transcript.Header{Lab: s.lab.Dir, Backend: s.backend.Name(), Archiver: s.archiver.Name(), Notes: s.why, Started: time.Now()}, replace)
}

// close stops the servers when stop is true and releases the backend, with
// its own deadline so a cancelled session still cleans up.
func (s *session) close(stop bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s.poller.Close()
	defer s.lock.Release()
	return s.backend.Close(ctx, stop)
}

// runResult is how a headless playbook run ended.
type runResult struct {
	snap   steps.Progress
	failed int      // index of the failed step, -1 when none
	watch  pg.Watch // the polls taken at each step's end
	// restored says what a run --from restored; notRestored why it
	// could not (the run then stopped before running anything).
	restored, notRestored string
	notes                 []string // the checkpoints' lines (kept, restored, not used)
}

// runPlaybook runs every step with continue and prints a line as each step
// starts and ends. The Runner reads the servers at each step's end; the
// readings go into the result's Watch (and the transcript), so the report's
// diagnosis looks back on the run as the debugger's does.
func runPlaybook(ctx context.Context, s *session, w io.Writer, verbose bool, tr ...*transcript.Transcript) runResult {
	r := steps.NewRunner(s.steps)
	r.SetReadings(s.poll) // each step's readings, taken before the next one starts
	if s.keeper != nil {
		r.SetCheckpoints(s.keeper)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { // owned here: joined through done
		defer close(done)
		_ = r.Run(rctx)
	}()
	res := runResult{failed: -1, watch: pg.NewWatch(s.stall)}
	if s.from > 0 {
		r.Rewind(s.from)
	} else {
		r.Continue()
	}
	total := len(s.steps)
loop:
	for e := range r.Events() {
		for _, t := range tr {
			if t != nil && e.Index >= 0 {
				_ = t.Record(s.steps, e, r.Snapshot().States[e.Index])
			}
		}
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
				line += "\n         error: " + untrusted.Shown(e.Err.Error())
			}
			fmt.Fprintln(w, line)
			if e.Readings != nil {
				res.watch, _ = res.watch.Observe(*e.Readings)
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
		case steps.Rewound:
			for _, rd := range e.Earlier {
				res.watch, _ = res.watch.Observe(rd)
			}
			res.restored = e.Line
			res.notes = append(res.notes, e.Line)
		case steps.Notice:
			if s.from > 0 && res.restored == "" {
				res.notRestored = e.Line
			}
			if s.keeper != nil {
				res.notes = append(res.notes, e.Line)
			}
		case steps.Idle:
			if e.Reason == steps.ReasonRewound {
				r.Continue()
				continue
			}
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
