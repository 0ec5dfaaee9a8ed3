package steps

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"walstep/untrusted"
)

// Limits on what a step's output keeps: a hook may print gigabytes. Past
// the first lines, lines are counted and only the last ones are kept,
// shown when the step ends after a line that says what was dropped.
const (
	// MaxLineBytes cuts a longer line, saying how many bytes were cut.
	MaxLineBytes = 4096
	// tailLines are the last lines kept once the head is full.
	tailLines = 200
	// headLines and headBytes bound the lines shown as they come.
	headLines = MaxOutputLines - tailLines - 1
	headBytes = 4 << 20
)

// lineWriter turns a step's output into StepOutput events, one per line,
// and keeps the lines in the step's state. It reads each byte once, so its
// cost is linear in the output, and keeps a bounded amount of it; lines
// are stripped of terminal control sequences as they enter.
type lineWriter struct {
	r     *Runner
	ctx   context.Context
	index int

	mu    sync.Mutex
	buf   []byte // the partial last line, at most MaxLineBytes
	cut   int    // bytes of the partial line past MaxLineBytes
	shown int    // lines shown as they came
	bytes int    // and their bytes
	gone  int    // lines neither shown nor in the tail
	goneB int64  // and their bytes
	tail  []string
	tailB []int // bytes of each tail line
	tailC []int // bytes cut from each tail line
	next  int   // next slot of the tail ring
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial(p)
			break
		}
		if len(w.buf) == 0 && w.cut == 0 {
			w.line(p[:i], 0)
		} else {
			w.partial(p[:i])
			w.line(w.buf, w.cut)
			w.buf, w.cut = w.buf[:0], 0
		}
		p = p[i+1:]
	}
	return n, nil
}

// partial adds p to the unfinished line, keeping at most MaxLineBytes.
func (w *lineWriter) partial(p []byte) {
	room := MaxLineBytes - len(w.buf)
	if room < 0 {
		room = 0
	}
	if len(p) > room {
		w.cut += len(p) - room
		p = p[:room]
	}
	w.buf = append(w.buf, p...)
}

// line handles one complete line; cut counts bytes already cut from it.
func (w *lineWriter) line(b []byte, cut int) {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	if len(b) > MaxLineBytes {
		cut += len(b) - MaxLineBytes
		b = b[:MaxLineBytes]
	}
	if w.shown >= headLines || w.bytes >= headBytes {
		if len(w.tail) < tailLines {
			w.tail, w.tailB, w.tailC = append(w.tail, ""), append(w.tailB, 0), append(w.tailC, 0)
		} else {
			w.gone++
			w.goneB += int64(w.tailB[w.next])
		}
		// Raw until flush: only kept lines pay for sanitising.
		w.tail[w.next], w.tailB[w.next], w.tailC[w.next] = string(b), len(b)+cut+1, cut
		w.next = (w.next + 1) % tailLines
		return
	}
	w.shown++
	w.bytes += len(b) + 1
	w.keep(w.text(b, cut))
}

// text is a line as walstep shows it: no control sequences, no secrets.
func (w *lineWriter) text(b []byte, cut int) string {
	s := untrusted.Shown(string(b))
	if cut > 0 {
		s += fmt.Sprintf(" … (%d more bytes of this line not kept)", cut)
	}
	return s
}

// flush ends the output: the unfinished line, then what was dropped and
// the last lines.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 || w.cut > 0 {
		w.line(w.buf, w.cut)
		w.buf, w.cut = nil, 0
	}
	kept := len(w.tail)
	if w.gone > 0 {
		w.keep(fmt.Sprintf("… %d lines (%s) of this output not kept; its last %d lines follow", w.gone, humanBytes(w.goneB), kept))
	}
	for i := range kept {
		j := (w.next + i) % kept
		w.keep(w.text([]byte(w.tail[j]), w.tailC[j]))
	}
	w.tail, w.tailB, w.tailC = nil, nil, nil
}

func (w *lineWriter) keep(s string) {
	w.r.mu.Lock()
	st := &w.r.states[w.index]
	st.Output = append(st.Output, s)
	if len(st.Output) > MaxOutputLines {
		st.Output = st.Output[len(st.Output)-MaxOutputLines:]
	}
	w.r.mu.Unlock()
	w.r.emit(w.ctx, Event{Kind: StepOutput, Index: w.index, Line: s})
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
