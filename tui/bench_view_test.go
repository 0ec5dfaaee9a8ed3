package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"walstep/pg"
	"walstep/steps"
)

// The TUI's speed budgets, measured here (bench/README.md
// records the figures):
//
//   - BenchmarkViewWith10000LogLines: one View() while the selected step
//     has had 10,000 lines of output (the model keeps the last
//     steps.MaxOutputLines) and the panel shows full log tails. Budget
//     2 ms.
//   - BenchmarkUpdateBurst1000LogLines: a burst of 1,000 output lines.
//     No budget; reported.
//
// Rerun with: go test -run '^$' -bench . -benchmem ./tui/

// benchLines is how many output lines the View benchmark feeds.
const benchLines = 10_000

// benchLogTail is a server's log tail as full as the poller makes it
// (pg.PollerOptions.LogLines defaults to 200), with a problem line every
// so often (the last line among them) and lines long enough to wrap in the
// panel.
func benchLogTail(node string, n int) []string {
	tail := make([]string, n)
	for i := range tail {
		switch {
		case (n-1-i)%17 == 0:
			tail[i] = fmt.Sprintf("2025-11-25 12:00:%02d.%03d UTC [43%02d] FATAL:  could not start WAL streaming: ERROR:  requested starting point 0/3000000 is ahead of the WAL flush position of this server 0/2000178", i%60, i, i%100)
		case i%5 == 0:
			tail[i] = fmt.Sprintf("2025-11-25 12:00:%02d.%03d UTC [43%02d] DETAIL:  a continuation line the panel skips", i%60, i, i%100)
		default:
			tail[i] = fmt.Sprintf("2025-11-25 12:00:%02d.%03d UTC [43%02d] LOG:  %s: restored log file \"0000000100000000000000%02X\" from archive", i%60, i, i%100, node, i%256)
		}
	}
	return tail
}

// benchSnap is the divergence with 200-line log tails on both servers.
func benchSnap() pg.Snapshot {
	s := divergedSnap(clock)
	s.Nodes[0].LogTail = benchLogTail("primary", 200)
	s.Nodes[1].LogTail = benchLogTail("replica", 200)
	return s
}

// outputLine is the i-th line of a chatty step: lengths vary, some wrap
// at 80 columns, one in ten has a tab.
func outputLine(i int) string {
	switch {
	case i%10 == 0:
		return fmt.Sprintf("line %d\tpg_basebackup: write-ahead log end point: 0/%X", i, 0x2000000+i)
	case i%7 == 0:
		return fmt.Sprintf("line %d of a step's output, long enough to wrap in the output pane at 80 columns: %s", i, strings.Repeat("wal ", 20))
	}
	return fmt.Sprintf("line %d of a step's output, about as long as a real one", i)
}

// outputEvent is the message of one line of output of step i, as
// waitEvent makes it when the line comes alone.
func outputEvent(i, n int) eventMsg {
	return eventMsg{ev: steps.Event{Kind: steps.StepOutput, Index: i, Line: outputLine(n)}}
}

// runnerEvents is the size of steps.Runner's event channel
// (steps.NewRunner makes it with room for 256): how far a step's output
// runs ahead of the TUI before the step waits for it.
const runnerEvents = 256

// benchModel is a model at w x h over a fake runner whose event channel
// is as big as the real one's, polled with full log tails.
func benchModel(w, h int) (Model, *fakeRunner) {
	pb := playbook()
	fr := newFakeRunner(len(pb))
	fr.events = make(chan steps.Event, runnerEvents)
	m := New(Config{
		Steps:   pb,
		Runner:  fr,
		Servers: &fakeServers{},
		Poll:    func(context.Context) pg.Snapshot { return benchSnap() },
		Header:  "local · cp · /tmp/lab",
		Now:     (&fakeClock{t: clock}).Now,
	})
	m = send(m, tea.WindowSizeMsg{Width: w, Height: h})
	m = polled(m, benchSnap())
	return m, fr
}

// deliver has step i print lines [from, to) the way the program gets
// them: the step writes into the Runner's event channel as fast as it can
// (it fills up while the TUI is busy), and the program reads it through
// the model's waitEvent command, then calls Update and, if view, View,
// once per message. It returns the model and the number of messages.
func deliver(m Model, fr *fakeRunner, i, from, to int, view bool) (Model, int) {
	msgs := 0
	for next := from; next < to || len(fr.events) > 0; {
		for next < to && len(fr.events) < cap(fr.events) {
			fr.events <- steps.Event{Kind: steps.StepOutput, Index: i, Line: outputLine(next)}
			next++
		}
		nm, _ := m.Update(m.waitEvent()())
		m = nm.(Model)
		msgs++
		if view {
			_ = m.View()
		}
	}
	return m, msgs
}

// chattyModel is a model at w x h, polled with full log tails, whose
// selected step (the running one, 3) has printed n lines, delivered as
// the program delivers them.
func chattyModel(w, h, n int) (Model, *fakeRunner) {
	m, fr := benchModel(w, h)
	i := 3 // any step; 3 has a command and a what-to-watch note
	m = send(m, eventMsg{ev: ev(steps.StepStarted, i)})
	m, _ = deliver(m, fr, i, 0, n, false)
	return m, fr
}

// TestBatchedOutputDrawsAsOneByOne checks the path the benchmarks (and
// the program) deliver output through: events read in batches by
// waitEvent leave the model drawing exactly what one message per event
// draws, across the kept limit and with the output scrolled back; a batch
// stops at maxEventBatch, and the channel's close behind a batch is
// reported by the next waitEvent.
func TestBatchedOutputDrawsAsOneByOne(t *testing.T) {
	// Both get the first lines in batches; then the last 400, which
	// cross the kept limit, come in batches to one and one by one to the
	// other, with the output scrolled back half way through.
	const n, shared = steps.MaxOutputLines + 200, steps.MaxOutputLines - 200
	batched, fr := benchModel(100, 30)
	i := 3
	batched = send(batched, eventMsg{ev: ev(steps.StepStarted, i)})
	batched, msgs := deliver(batched, fr, i, 0, shared, false)
	if want := (shared + maxEventBatch - 1) / maxEventBatch; msgs != want {
		t.Errorf("%d lines came in %d messages, want %d", shared, msgs, want)
	}
	single := batched
	single.views = append([]stepView(nil), batched.views...)
	single.views[i].output = append([]string(nil), batched.views[i].output...)
	single.outCache = &outputCache{step: -1}
	single.refreshOutput(false)

	half := shared + (n-shared)/2
	batched, _ = deliver(batched, fr, i, shared, half, false)
	for k := shared; k < half; k++ {
		single = send(single, outputEvent(i, k))
	}
	batched, _ = press(batched, "tab", "pgup", "pgup")
	single, _ = press(single, "tab", "pgup", "pgup")
	batched, _ = deliver(batched, fr, i, half, n, false)
	for k := half; k < n; k++ {
		single = send(single, outputEvent(i, k))
	}
	if got, want := batched.View(), single.View(); got != want {
		t.Errorf("batched output draws\n%s\none by one:\n%s", got, want)
	}
	batched, _ = press(batched, "end")
	single, _ = press(single, "end")
	if got, want := batched.View(), single.View(); got != want {
		t.Errorf("at the end, batched output draws\n%s\none by one:\n%s", got, want)
	}

	// Events, then the channel closed behind them: one batch, then the
	// close.
	fr.events <- steps.Event{Kind: steps.StepOutput, Index: i, Line: "last words"}
	fr.events <- steps.Event{Kind: steps.StepFinished, Index: i, Status: steps.Done}
	close(fr.events)
	msg := batched.waitEvent()()
	if em, ok := msg.(eventMsg); !ok || em.ev.Line != "last words" || len(em.more) != 1 || em.more[0].Kind != steps.StepFinished {
		t.Fatalf("waitEvent = %#v, want the line and the finish", msg)
	}
	batched = send(batched, msg)
	if v := batched.views[i]; v.status != steps.Done || v.output[len(v.output)-1] != "last words" {
		t.Errorf("step %d is %s, last line %q", i, v.status, v.output[len(v.output)-1])
	}
	if !strings.Contains(batched.View(), "last words") {
		t.Error("the batch's line is not drawn")
	}
	if msg := batched.waitEvent()(); msg != (eventsClosedMsg{gen: batched.eventsGen}) {
		t.Errorf("after the batch, waitEvent = %#v, want the close", msg)
	}
}

// withColour runs f with a true-colour profile, as on a real terminal
// (TestMain pins Ascii for the goldens), and puts Ascii back.
func withColour(f func()) {
	lipgloss.SetColorProfile(termenv.TrueColor)
	defer lipgloss.SetColorProfile(termenv.Ascii)
	f()
}

// BenchmarkViewWith10000LogLines is one frame, at 120x40 and 80x24, of a
// model whose selected step has printed 10,000 lines (it keeps the last
// steps.MaxOutputLines) and whose panel shows both servers with 200-line
// log tails and the divergence: at the end of the output (tail), scrolled
// back with the output focused (scrolled), and at the end in true colour
// (tail-colour; the other cases draw with TestMain's Ascii profile).
func BenchmarkViewWith10000LogLines(b *testing.B) {
	for _, size := range [][2]int{{120, 40}, {80, 24}} {
		// Built once per size: delivering 10,000 lines through Update is
		// the other benchmark's business, not this one's.
		m, _ := chattyModel(size[0], size[1], benchLines)
		if got := len(m.views[m.selected].output); got != steps.MaxOutputLines {
			b.Fatalf("the selected step holds %d lines, want %d", got, steps.MaxOutputLines)
		}
		scrolled, _ := press(m, "tab", "pgup", "pgup", "pgup") // the output focused, scrolled back
		for _, c := range []struct {
			name   string
			m      Model
			colour bool
			want   string // an output line the frame shows
		}{
			{"tail", m, false, fmt.Sprintf("line %d ", benchLines-1)},
			{"scrolled", scrolled, false, "%"}, // the title's scroll position
			{"tail-colour", m, true, fmt.Sprintf("line %d ", benchLines-1)},
		} {
			b.Run(fmt.Sprintf("%dx%d/%s", size[0], size[1], c.name), func(b *testing.B) {
				run := func() {
					checkFrame(b, c.m.View(), size[1], c.want, fmt.Sprintf("%d lines", steps.MaxOutputLines), "could not start WAL")
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						_ = c.m.View()
					}
				}
				if c.colour {
					withColour(run)
				} else {
					run()
				}
			})
		}
	}
}

// checkFrame makes sure the benchmark draws what it claims to: a full
// frame holding every want string.
func checkFrame(b *testing.B, v string, h int, want ...string) {
	b.Helper()
	if n := strings.Count(v, "\n") + 1; n != h {
		b.Fatalf("the frame has %d lines, want %d", n, h)
	}
	for _, w := range want {
		if !strings.Contains(v, w) {
			b.Fatalf("the frame lacks %q:\n%s", w, v)
		}
	}
}

// BenchmarkUpdateBurst1000LogLines is a burst of 1,000 output lines of
// the selected step, each message followed by the View the program draws
// after every Update (bubbletea calls View after each message and sends
// the frames to the terminal at most 60 times a second). One op is the
// whole burst; ns/line is the op divided by 1,000, msgs/op the Updates.
//
//   - program/...: the lines go through the Runner's event channel and the
//     model's waitEvent command, as in the program, the step writing as
//     fast as it can.
//   - messages/...: 1,000 messages of one line each, Update and View for
//     each: what a step costs that prints its lines one by one, slower
//     than the TUI reads them.
//   - full: the step already holds steps.MaxOutputLines lines, so each
//     line also drops the oldest: the steady state of a chatty step.
//   - fresh: the step starts (a StepStarted event) just before the burst.
//   - update-only: without the Views.
func BenchmarkUpdateBurst1000LogLines(b *testing.B) {
	const burst = 1000
	for _, c := range []struct {
		name          string
		pre           int // lines before the first burst
		fresh, view   bool
		singleMessage bool
	}{
		{"program/full", benchLines, false, true, false},
		{"program/fresh", 0, true, true, false},
		{"program/full/update-only", benchLines, false, false, false},
		{"messages/full", benchLines, false, true, true},
		{"messages/full/update-only", benchLines, false, false, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			m, fr := chattyModel(120, 40, c.pre)
			i := m.selected
			next, msgs := c.pre, 0
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if c.fresh {
					m = send(m, eventMsg{ev: ev(steps.StepStarted, i)})
				}
				if c.singleMessage {
					for range burst {
						nm, _ := m.Update(outputEvent(i, next))
						m = nm.(Model)
						next++
						msgs++
						if c.view {
							_ = m.View()
						}
					}
					continue
				}
				var n int
				m, n = deliver(m, fr, i, next, next+burst, c.view)
				next += burst
				msgs += n
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*burst), "ns/line")
			b.ReportMetric(float64(msgs)/float64(b.N), "msgs/op")
			v := m.views[i]
			want := next // lines in this run of the step
			if c.fresh {
				want = burst
			}
			if v.total != want {
				b.Fatalf("the step got %d lines, want %d", v.total, want)
			}
			if len(v.output) > steps.MaxOutputLines {
				b.Fatalf("kept %d lines", len(v.output))
			}
			if want := outputLine(next - 1); v.output[len(v.output)-1] != strings.ReplaceAll(want, "\t", "    ") {
				b.Fatalf("the last line is %q, want %q", v.output[len(v.output)-1], want)
			}
		})
	}
}
