package tui

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"walstep/cluster"
	"walstep/pg"
	"walstep/steps"
)

// Messages carry a generation so results that arrive after the model moved
// on (a newer poll, another view, another event stream) are dropped.

// eventMsg is one Runner event, and the ones that were waiting behind it
// (more), in order: a chatty step then costs an Update and a View per
// batch, not per line.
type eventMsg struct {
	gen  int
	ev   steps.Event
	more []steps.Event
}

// maxEventBatch bounds the events one eventMsg carries.
const maxEventBatch = 256

// eventsClosedMsg says the Runner closed its event channel.
type eventsClosedMsg struct{ gen int }

// pollMsg is one poll's result.
type pollMsg struct {
	gen  int
	snap pg.Snapshot
}

// pollTickMsg says it is time for the next poll.
type pollTickMsg struct{ gen int }

// viewMsg is the text of a full-screen view, read in a command.
type viewMsg struct {
	gen  int
	node cluster.Node
	text string
	err  error
}

// shellDoneMsg says the shell started with x has exited.
type shellDoneMsg struct {
	node cluster.Node
	err  error
}

// logLines is how much of a server log the full-screen view reads.
const logLines = 2000

// readTimeout bounds a view's file reads and pg_controldata.
const readTimeout = 10 * time.Second

// waitEvent reads the next Runner event, with those already waiting
// behind it: a command re-armed after every eventMsg, as in bubbletea's
// realtime example.
func (m Model) waitEvent() tea.Cmd {
	if m.cfg.Runner == nil {
		return nil
	}
	ch, gen := m.cfg.Runner.Events(), m.eventsGen
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return eventsClosedMsg{gen: gen}
		}
		msg := eventMsg{gen: gen, ev: ev}
		for len(msg.more) < maxEventBatch-1 {
			select {
			case ev, ok := <-ch:
				if !ok { // the next waitEvent reports it
					return msg
				}
				msg.more = append(msg.more, ev)
			default:
				return msg
			}
		}
		return msg
	}
}

// pollNow starts a poll now, or, when one is in flight, asks for another as
// soon as it ends, so polls never overlap.
func (m *Model) pollNow() tea.Cmd {
	if m.cfg.Poll == nil {
		return nil
	}
	if m.polling {
		m.pollAgain = true
		return nil
	}
	m.pollGen++
	m.polling = true
	return pollCmd(m.ctx, m.cfg.Poll, m.pollGen)
}

func pollCmd(ctx context.Context, poll func(context.Context) pg.Snapshot, gen int) tea.Cmd {
	return func() tea.Msg { return pollMsg{gen: gen, snap: poll(ctx)} }
}

// pollLater arms the next poll; it is armed only once a result is in, so a
// slow server slows the polling down instead of piling polls up. The wait
// ends with the model's context (tea.Tick's would not), so no timer's
// goroutine outlives the session by up to PollEvery.
func (m Model) pollLater() tea.Cmd {
	gen, ctx, every := m.pollGen, m.ctx, m.cfg.PollEvery
	return func() tea.Msg {
		t := time.NewTimer(every)
		defer t.Stop()
		select {
		case <-t.C:
			return pollTickMsg{gen: gen}
		case <-ctx.Done():
			return nil
		}
	}
}

// loadView reads the text of the current full-screen view in a command.
func (m *Model) loadView() tea.Cmd {
	switch m.screen {
	case screenInspect:
		var gen int
		m.inspectView, gen = m.inspectView.reading()
		node, ctx, srv := m.inspectView.node, m.ctx, m.cfg.Servers
		var src pg.FileSource
		if srv != nil {
			src = srv
		}
		made := madeBy(m.steps, node)
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(ctx, readTimeout)
			defer cancel()
			return viewMsg{gen: gen, node: node, text: inspect(ctx, node, src, made)}
		}
	}
	return nil
}

// readLog is the log pager's loader: the last logLines lines of a log.
func readLog(srv Servers) logLoader {
	return func(ctx context.Context, node cluster.Node) ([]string, error) {
		if srv == nil {
			return nil, fmt.Errorf("no backend")
		}
		return srv.LogTail(ctx, node, logLines)
	}
}

// shellMsg carries a shell command made ready in a command (the stat of its
// directory is a file access, which Update does not do).
type shellMsg struct {
	node cluster.Node
	cmd  *exec.Cmd
	note string
}

// prepareShell builds the shell command of node's environment.
func (m Model) prepareShell(node cluster.Node) tea.Cmd {
	if m.cfg.Servers == nil {
		return nil
	}
	argv, dir := m.cfg.Servers.Shell(node)
	if len(argv) == 0 {
		return nil
	}
	// A line before the shell says where the user is and how to come back.
	container := false // asked of the backend, not read off its type or command
	if cs, ok := m.cfg.Servers.(cluster.ContainerShell); ok {
		container = cs.ShellInContainer()
	}
	banner := fmt.Sprintf("walstep: a shell in %s's environment (%s); exit it to come back to the debugger", node.The(), shellSummary(argv, dir, container))
	argv = append([]string{"sh", "-c", `printf '%s\n' "$0"; exec "$@"`, banner}, argv...)
	srv, ctx := m.cfg.Servers, m.ctx
	return func() tea.Msg {
		if sr, ok := srv.(stateReader); ok && container {
			// docker exec in a stopped container fails with a bare
			// "exit status 1": say what is wrong instead.
			if st, err := sr.State(ctx, node); err == nil && !st.Running {
				why := "does not exist yet"
				if st.Exists {
					why = "is stopped"
					if st.Detail != "" {
						why += " (" + st.Detail + ")"
					}
				}
				return shellMsg{node: node, note: fmt.Sprintf("%s's container %s: a shell needs it running (its start step runs it)", node.The(), why)}
			}
		}
		c := exec.Command(argv[0], argv[1:]...)
		note := ""
		if dir != "" {
			if st, err := os.Stat(dir); err == nil && st.IsDir() {
				c.Dir = dir
			} else {
				note = fmt.Sprintf("%s does not exist yet: the shell starts in the current directory", dir)
			}
		}
		return shellMsg{node: node, cmd: c, note: note}
	}
}

// stateReader is the part of a backend that says whether a server's
// process or container runs (cluster.Backend has it).
type stateReader interface {
	State(ctx context.Context, node cluster.Node) (cluster.ProcState, error)
}

// shellSummary is the shell's command for the banner, without the
// environment it is given (PATH alone would take three lines): the
// command in the container as the seed types it, or where a local shell
// starts.
func shellSummary(argv []string, dir string, container bool) string {
	if !container {
		if dir == "" {
			return "psql reaches its server"
		}
		return "PGDATA=" + dir + ", psql reaches its server"
	}
	var out []string
	for i := 0; i < len(argv); i++ {
		if argv[i] == "-e" && i+1 < len(argv) {
			i++
			continue
		}
		out = append(out, argv[i])
	}
	return strings.Join(out, " ")
}

// openShell hands the terminal to the prepared shell and comes back to the
// debugger when it exits.
func openShell(msg shellMsg) tea.Cmd {
	node := msg.node
	return tea.Exec(&altScreenExec{Cmd: msg.cmd}, func(err error) tea.Msg { return shellDoneMsg{node: node, err: err} })
}

// Enter the terminal's alternate screen (cleared, cursor home), and leave it.
const (
	altScreenOn  = "\x1b[?1049h\x1b[H\x1b[2J"
	altScreenOff = "\x1b[?1049l"
)

// altScreenExec runs a shell on the terminal's alternate screen. Bubble
// Tea hands the terminal over on the main screen, so what the shell
// printed would be what stays on the terminal once walstep exits, in
// place of what was there before it started.
type altScreenExec struct {
	*exec.Cmd
	out io.Writer
}

func (a *altScreenExec) SetStdin(r io.Reader)  { a.Stdin = r }
func (a *altScreenExec) SetStderr(w io.Writer) { a.Stderr = w }
func (a *altScreenExec) SetStdout(w io.Writer) { a.Stdout, a.out = w, w }

func (a *altScreenExec) Run() error {
	if a.out != nil {
		_, _ = io.WriteString(a.out, altScreenOn)
		defer io.WriteString(a.out, altScreenOff)
	}
	return a.Cmd.Run()
}
