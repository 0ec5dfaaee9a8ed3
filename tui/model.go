package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"walstep/cluster"
	"walstep/pg"
	"walstep/present"
	"walstep/steps"
)

// Runner is the part of *steps.Runner the TUI drives; tests fake it.
type Runner interface {
	Run(ctx context.Context) error
	Next()
	Continue()
	Pause()
	Retry(i int)
	Skip(i int)
	Jump(i int)
	Rewind(i int)
	Cancel()
	ToggleBreakpoint(i int)
	Events() <-chan steps.Event
	Snapshot() steps.Progress
}

// Servers is the part of cluster.Backend the TUI reads from: the shell for
// x, the log for l, the data dir and pg_controldata for i.
type Servers interface {
	Name() string
	Addr(node cluster.Node) string
	Shell(node cluster.Node) (argv []string, dir string)
	LogTail(ctx context.Context, node cluster.Node, n int) ([]string, error)
	ControlData(ctx context.Context, node cluster.Node) (string, error)
	// The inspect view reads the data dir through the backend.
	pg.FileSource
}

// Config is what New needs.
type Config struct {
	Steps   []steps.Step
	Runner  Runner
	Servers Servers
	// Topology is the lab's servers in the playbook's order; l, i and x
	// act on its first until o selects another (nil: the seed's).
	Topology cluster.Topology
	// Poll takes one reading of both servers; it must return within a few
	// seconds (pg.Poller.Poll does). It runs in a command, never in Update.
	Poll func(ctx context.Context) pg.Snapshot
	// PollEvery is the pause between the end of one poll and the start of
	// the next; 0 means 500ms.
	PollEvery time.Duration
	// LabDir is the lab, for include_dir files the server names by a path
	// inside its container (the lab's primary-config/ and replica-config/).
	LabDir string
	// Header is shown on the top line after "walstep": backend, archiver.
	Header string
	// Why says how the backend and archiver were chosen; the status line
	// shows it until the first step runs.
	Why []string
	// StallAfter is how long the replica's replay may stand still while
	// the primary moves before the verdict is "stalled"; 0 means
	// pg.DefaultStallAfter (--stall-after).
	StallAfter time.Duration
	// Ctx owns every command the model starts; cancel it to stop them.
	Ctx context.Context
	// Now is the clock for elapsed times and reading ages; nil is time.Now.
	Now func() time.Time
	// Record, if set, is given, in order, every Runner event a transcript
	// marks (a step that ends, a new pass, a jump) with the state of the
	// step concerned. The readings after a step come on its event (see
	// steps.Runner.SetReadings). It runs in a goroutine of Run, never in
	// Update, and Run waits for it before returning.
	// all is the playbook the event's indexes are into (a new pass may
	// replace it; see steps.Runner.SetReplan).
	Record func(all []steps.Step, ev steps.Event, state steps.StepState)
	// ReadWAL reads the WAL at the fork for the WAL view (key w); nil
	// leaves the view saying it cannot read.
	ReadWAL WALReader
	// Proof, if set, is what the steps did towards the proof from the
	// data (steps.Env.ProofInput), asked at each diagnosis with the
	// steps and their states as the screen shows them; nil: no proof.
	Proof func(all []steps.Step, states []steps.StepState) pg.ProofInput
	// Mark, if set, is called in Update with a label at each step's
	// start ("step 12 · Start both servers at once") and when the verdict
	// changes ("verdict: DIVERGED · …"), before the frame that shows it:
	// the recording's markers. It must not block (cast.Recorder.Marker
	// writes one line).
	Mark func(label string)

	// Present starts in presenter mode (P toggles it): the selected step's
	// note large above the screen and the verdict as a banner.
	// PresentStops are the step IDs P sets breakpoints on (nil: 12, F2,
	// F6; with Present, main sets them before Run). PresentPause, when
	// positive, continues on its own that long after such a stop.
	Present      bool
	PresentStops []string
	PresentPause time.Duration

	afterCh chan afterStep // set by Run when Record is set
}

// Result is how the user left the debugger.
type Result struct {
	// StopServers is the answer to "stop the servers?"; main passes it to
	// Backend.Close.
	StopServers bool
	// Interrupted is set when the user did not answer: Ctrl-C, SIGTERM, or
	// the program was killed. StopServers is then true, so nothing is left
	// running behind a user who wanted out.
	Interrupted bool
	// Resume is set when the user quit to come back with walstep --resume:
	// the servers are to be stopped and a checkpoint kept where it was.
	Resume bool
	// Watch is the history of the polls the debugger diagnosed, so a
	// report made after it looks back on the same polls.
	Watch pg.Watch
	// Diagnosis is the verdict on the last poll; zero before any.
	Diagnosis pg.Diagnosis
}

// focus is the part of the main screen that up/down act on.
type focus int

const (
	focusSteps focus = iota
	focusOutput
	focusServers
	focusCount
)

// screen is what fills the body: the main layout or a full-screen view.
type screen int

const (
	screenMain screen = iota
	screenLog
	screenInspect
	screenArchive
	screenDiagnosis
)

// question is the yes/no question waiting in the footer, if any.
type question int

const (
	askNone question = iota
	askQuitRunning
	askStopServers
	askQuitResume // no server runs: quit, or quit keeping the step for --resume
)

// stepView is what the model knows of one step, from Runner events.
type stepView struct {
	status  steps.Status
	err     error
	started time.Time
	elapsed time.Duration
	output  []string
	total   int // lines ever appended in this run; output keeps the last ones
	runs    int
	command string // what the step's Reload read as this run started
}

// outputCache holds the selected step's output wrapped to the viewport,
// one entry per output line, so a new line costs one wrap, not all.
type outputCache struct {
	step, width, runs, total int
	last                     string // the last line wrapped, to check the cache belongs to this output
	rendered                 []string
}

// Model is the debugger's Bubble Tea model.
type Model struct {
	cfg    Config
	keys   keyMap
	styles present.Styles
	now    func() time.Time
	ctx    context.Context

	steps       []steps.Step
	views       []stepView
	breakpoints map[int]bool
	cursor      int  // the runner's next step
	running     int  // the running step, -1 when idle
	finished    bool // no step left to run
	idleReason  string

	selected int
	follow   bool // selection follows the running step
	focus    focus
	server   cluster.Node // the server l, i and x act on

	width, height int
	output        viewport.Model
	outCache      *outputCache // shared by copies of the model; checked before use
	help          help.Model
	spinner       spinner.Model
	spinning      bool

	snap       pg.Snapshot
	polled     bool
	leftover   bool // servers up before any step of this session ran
	panelNeed  int  // what the panel's lines need (panelNeedOf the last poll)
	diag       pg.Diagnosis
	diagnosed  bool
	marked     pg.Verdict // the verdict last given to Config.Mark
	watch      pg.Watch   // the polls pg.Diagnose looks back on
	pollGen    int
	polling    bool
	pollAgain  bool
	eventsGen  int
	eventsDone bool

	screen screen

	present     presenter
	logView     logPager // the full-screen log (l)
	wal         walView  // the WAL view (key w)
	inspectView textView // a server's data dir (i)
	archiveView textView // the archive (a)
	diagView    textView // the diagnosis (d)

	ask    question
	notice string
	// passNote is what a new pass found changed in the playbook, shown
	// with the notice when the runner next stops.
	passNote string
	// rewindAsked is when g asked for a rewind (zero when none waits);
	// rewindNote what the restore said, shown again when the steps stop.
	rewindAsked time.Time
	rewindNote  string
	result      Result
	decided     bool
}

// New makes the model over cfg. It reads the Runner's state once, so
// breakpoints set before the program starts show.
func New(cfg Config) Model {
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = 500 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Ctx == nil {
		cfg.Ctx = context.Background()
	}
	m := Model{
		cfg:         cfg,
		keys:        defaultKeys(),
		styles:      present.DefaultStyles(),
		now:         cfg.Now,
		ctx:         cfg.Ctx,
		steps:       cfg.Steps,
		views:       make([]stepView, len(cfg.Steps)),
		breakpoints: map[int]bool{},
		running:     -1,
		follow:      true,
		server:      cluster.Primary,
		width:       80,
		height:      24,
		help:        help.New(),
		spinner:     spinner.New(spinner.WithSpinner(spinner.MiniDot)),
		output:      viewport.New(40, 5),
		outCache:    &outputCache{step: -1},
		watch:       pg.NewWatch(cfg.StallAfter),
		present:     newPresenter(cfg),
	}
	if len(cfg.Topology) > 0 {
		m.server = cfg.Topology[0].Name
	}
	m.logView = newLogPager(cfg.Ctx, readLog(cfg.Servers), m.styles)
	m.wal = newWALView(cfg.ReadWAL, m.styles)
	m.inspectView = newTextView(screenInspect, "", m.keys, m.styles)
	m.archiveView = newTextView(screenArchive, "archive: backups, WAL per timeline, what each server asks for next", m.keys, m.styles)
	m.diagView = newTextView(screenDiagnosis, "diagnosis", m.keys, m.styles)
	m.output.KeyMap = viewport.KeyMap{} // keys are routed by keyMap, not the viewport's pager keys
	if cfg.Runner != nil {
		s := cfg.Runner.Snapshot()
		for i := range m.views {
			if i < len(s.States) {
				st := s.States[i]
				m.views[i] = stepView{status: st.Status, err: st.Err, started: st.Started, elapsed: st.Duration, output: st.Output, total: len(st.Output), runs: st.Runs, command: st.Command}
			}
		}
		for k, v := range s.Breakpoints {
			if v {
				m.breakpoints[k] = true
			}
		}
		m.cursor, m.running = s.Cursor, s.Running
		m.finished = s.Cursor >= len(cfg.Steps)
	}
	if m.running >= 0 {
		m.selected = m.running
	} else if m.cursor < len(m.steps) {
		m.selected = m.cursor
	}
	if cfg.Poll != nil { // the first poll starts in Init
		m.pollGen, m.polling = 1, true
	}
	m.help.ShortSeparator = "  "
	m.help.Styles.ShortKey = m.styles.Current
	m.help.Styles.FullKey = m.styles.Current
	// bubbles' default descriptions are too dark to read on black.
	m.help.Styles.ShortDesc = m.styles.Dim
	m.help.Styles.FullDesc = m.styles.Dim
	// The first screen says how to start, then how the backend was chosen.
	m.notice = fmt.Sprintf("%s runs the next step, %s runs on to a breakpoint or the end", keyOf(m.keys.Next), keyOf(m.keys.Continue))
	if len(cfg.Why) > 0 {
		m.notice += " · " + strings.Join(cfg.Why, " · ")
	}
	m.layout()
	m.refreshOutput(true)
	return m
}

// noteLeftover marks servers that run before any step of this session
// has: an earlier session left them, and the checklist (all pending) says
// nothing of how they got there. A step that starts clears the mark.
func (m *Model) noteLeftover() {
	for _, v := range m.views {
		if v.runs > 0 || v.status != steps.Pending {
			m.leftover = false
			return
		}
	}
	was := m.leftover
	m.leftover = anyServerRuns(m.snap)
	if m.leftover && !was {
		m.notice = "these servers were left running by an earlier session: the checklist starts afresh here (step 0 stops them and resets the lab)"
	}
}

// anyServerRuns reports whether a reading found any server's process.
func anyServerRuns(s pg.Snapshot) bool {
	for _, n := range present.Nodes(s) {
		if serverRuns(n.Reading) {
			return true
		}
	}
	return false
}

// serverRuns reports whether a reading found the server's process there
// (up, starting or stopping).
func serverRuns(r pg.Reading) bool {
	return r.Process == pg.ProcUp || r.Process == pg.ProcStarting || r.Process == pg.ProcStopping
}

// Init starts the event stream and the first poll.
func (m Model) Init() tea.Cmd {
	var poll tea.Cmd
	if m.cfg.Poll != nil {
		poll = pollCmd(m.ctx, m.cfg.Poll, m.pollGen)
	}
	return tea.Batch(m.waitEvent(), poll)
}

// Result reports how the user left; see Result.
func (m Model) Result() Result {
	r := m.result
	if !m.decided {
		r = Result{StopServers: true, Interrupted: true}
	}
	r.Watch, r.Diagnosis = m.watch, m.diag
	return r
}
