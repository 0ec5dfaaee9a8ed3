package headless

import (
	"context"
	"fmt"
	"time"

	"walstep/cluster"
	"walstep/pg"
	"walstep/playbook"
	"walstep/steps"
	"walstep/transcript"
)

// Session wires a lab, a backend, an archiver, the playbook and the poller;
// `run` and the TUI both drive one.
type Session struct {
	Lab      *cluster.Lab
	Backend  cluster.Backend
	Archiver cluster.Archiver
	Env      *steps.Env
	Steps    []steps.Step
	Poller   *pg.Poller
	Poll     func(context.Context) pg.Snapshot // s.Poller.Poll; tests replay polls
	Stall    time.Duration                     // --stall-after, for pg.Watch
	Why      []string                          // how the backend and archiver were chosen
	Lock     *cluster.LabLock                  // held for the session's life
	Doc      *playbook.Doc                     // the playbook the steps come from
	DocFile  string                            // the file it was read from; "" for a built-in one
	// keeper, when set, keeps checkpoints as steps end; from > 0 makes
	// RunPlaybook start there from the nearest one (run --from).
	Keeper steps.Checkpointer
	From   int
}

// WithHooks is the playbook with hooks inserted, each step telling of a
// server PANIC when it fails.
func (s *Session) WithHooks(hooks []steps.Hook) []steps.Step {
	return steps.WithPanicHints(s.Env, steps.WithHooks(s.Env, s.Bind(s.Doc), hooks))
}

// Bind makes doc's steps for this session; a playbook from a file is read
// again as each step starts, so an edit shows at the next retry.
func (s *Session) Bind(doc *playbook.Doc) []steps.Step {
	if s.DocFile != "" {
		return steps.BindFile(s.Env, doc, s.DocFile)
	}
	return steps.Bind(s.Env, doc)
}

// Replan is the playbook as the lab's hooks/ holds it now, for a new pass
// (steps.Runner.SetReplan), with the hook files it ignores and why; nil,
// keeping the one there is, when hooks/ cannot be read.
func (s *Session) Replan() ([]steps.Step, []string) {
	var notes []string
	if s.DocFile != "" {
		// Steps added or removed since count from this pass; a file that
		// no longer parses keeps the steps there are, says why here, and
		// each step says it again as it starts.
		if d, err := playbook.ReadFile(s.DocFile); err == nil {
			s.Doc = d
		} else {
			notes = append(notes, fmt.Sprintf("the playbook as before: %v", err))
		}
	}
	hooks, warnings, err := steps.FindHooks(s.Lab, s.Bind(s.Doc))
	if err != nil {
		return nil, append(notes, fmt.Sprintf("hooks as before: %v", err))
	}
	return s.WithHooks(hooks), append(notes, warnings...)
}

// NewTranscript starts a transcript of this session at path; none (nil)
// when path is empty (no --transcript).
// It refuses a path the run would delete or one of the lab's own files,
// and an existing file unless replace (--force) is set.
func (s *Session) NewTranscript(path string, replace bool) (*transcript.Transcript, error) {
	if path == "" {
		return nil, nil
	}
	if err := s.Lab.CheckOutputPath(path); err != nil {
		return nil, fmt.Errorf("--transcript: %w", err)
	}
	return transcript.Open(path, transcript.Header{Lab: s.Lab.Dir, Backend: s.Backend.Name(), Archiver: s.Archiver.Name(), Notes: s.Why, Started: time.Now()}, replace)
}

// Close stops the servers when stop is true and releases the backend, with
// its own deadline so a cancelled session still cleans up.
func (s *Session) Close(stop bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s.Poller.Close()
	defer s.Lock.Release()
	return s.Backend.Close(ctx, stop)
}
