package steps

import (
	"context"
	"io"
	"time"

	"walstep/pg"
)

// Status is a step's state.
type Status int

// Step states.
const (
	Pending Status = iota
	Running
	Done
	Failed
	Skipped
	Cancelled // stopped on the user's word before it ended
	Restored  // not run: its end state came back from a checkpoint
)

// String implements fmt.Stringer.
func (s Status) String() string {
	return [...]string{"pending", "running", "done", "failed", "skipped", "cancelled", "restored"}[s]
}

// MarshalText makes statuses read as words in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Step is one entry of the playbook.
type Step struct {
	ID      string // unique: "1", "4a", "6b", "F1", "13+primary.sql"
	Seed    string // the number as the seed writes it
	Parent  string // "4" for 4a-4f, the step a hook follows
	Title   string
	Command string // what a person types in the seed's Docker setup
	// CommandLabel is what the playbook calls Command ("seed's"); ""
	// when it does not say.
	CommandLabel string
	Watch        string // what to look at once it has run
	Hint         string // the debugger key that shows it ("press i to inspect"); not for transcripts
	Hook         string // path of the hook file, for hook steps
	// Actions are the display forms of what the step runs, Reads the lab
	// files it reads (the confs it copies, the archiver's config), Makes
	// the data dirs it creates: what the layers above know of a step
	// instead of its ID.
	Actions []string
	Reads   []string
	Makes   []Made
	// PresentStop and Breakpoint are the playbook's word: presenter mode
	// stops before this step, the debugger sets a breakpoint on it.
	PresentStop, Breakpoint bool
	// Reload, when set, rereads what the step runs just before each
	// start (a hook's file) and returns it as the step's command: the
	// screen and the transcript show what this run runs, not what was
	// there when walstep started.
	Reload func() string
	// Ran, when set, is the file the step runs (a hook's) as read when
	// its last run started: its name in the lab and its text; ok is
	// false before a run has read it. Reports show this, not the file as
	// it is by then.
	Ran func() (file string, text []byte, ok bool)
	Run func(ctx context.Context, out io.Writer) error
	// Undo removes what an earlier run of this step left when that run
	// did not end (failed or cancelled), so a retry starts from what the
	// step needs. It must clean only what the step itself makes.
	Undo func(ctx context.Context, out io.Writer) error
	// Resets marks a step that returns the lab to before every later
	// step (step 0): running it starts a new pass, and the later steps'
	// states go back to pending.
	Resets bool
}

// StepState is the runtime state of one step.
type StepState struct {
	Status   Status
	Err      error
	Started  time.Time
	Duration time.Duration
	Output   []string // bounded to MaxOutputLines, oldest dropped
	Runs     int
	// Command is what Reload returned when this run started; "" means
	// the step's Command.
	Command string

	seq uint64 // when the Runner last skipped it (see newPass)
}

// MaxOutputLines bounds the output kept per step.
const MaxOutputLines = 5000

// EventKind tells what an Event reports.
type EventKind int

// Event kinds.
const (
	StepStarted  EventKind = iota // a step began
	StepOutput                    // a line of a step's output
	StepFinished                  // a step ended: done, failed, cancelled or skipped
	Idle                          // the runner stopped and waits for a command
	Notice                        // a message for the user (a refused command)
	PassStarted                   // a Resets step began: every later step is pending again
	Jumped                        // the next step to run moved (Index: the new one)
	Rewound                       // a checkpoint was restored: the steps before Index are Restored
)

// Idle reasons.
const (
	ReasonStep       = "step done"
	ReasonBreakpoint = "breakpoint"
	ReasonFailed     = "failed"
	ReasonPaused     = "paused"
	ReasonEnd        = "end of playbook"
	ReasonJump       = "jumped"
	ReasonSkip       = "skipped"
	ReasonCancelled  = "cancelled"
	ReasonRewound    = "rewound"
)

// Event is what the Runner emits.
type Event struct {
	Kind     EventKind
	Index    int // the step concerned, -1 for none
	Status   Status
	Err      error
	Line     string
	Duration time.Duration
	Reason   string // for Idle
	Cursor   int    // for Idle: the next step to run
	Finished bool   // for Idle: no step left to run
	Pass     int    // for PassStarted: 2 for the first pass started again
	Reset    []int  // for PassStarted: the steps now pending again
	From     int    // for Jumped: the step that was next before
	// Command, for StepStarted, is what Reload read as the step began
	// ("" for a step without Reload: its Command holds).
	Command string
	// Steps, for PassStarted, is the playbook as the new pass found it
	// (hooks added, removed or edited since), when the Runner was given
	// SetReplan; indexes in this and later events are into it.
	Steps []Step
	// Changed, for PassStarted, says which steps the playbook taken
	// again added or removed ("" for none).
	Changed string
	// Readings, on StepFinished of a step that ran, are both servers read
	// after the step ended and before anything else started (only when
	// the Runner was given a reader with SetReadings).
	Readings *pg.Snapshot
	// Earlier, for Rewound, are the readings of the steps the checkpoint
	// stands for, oldest first.
	Earlier []pg.Snapshot
}
