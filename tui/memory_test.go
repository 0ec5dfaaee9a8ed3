package tui

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"walstep/pg"
	"walstep/steps"
)

// heapInUse is the live heap after a full collection.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestOutputMemoryIsBounded has a step print 100,000 lines, twenty times
// what the model keeps (steps.MaxOutputLines), delivered as the program
// delivers them: the model keeps the last MaxOutputLines lines and their
// wrapped form, and its heap after 100,000 lines is what it was after
// 10,000, when the limit was first passed.
func TestOutputMemoryIsBounded(t *testing.T) {
	const first, all = 2 * steps.MaxOutputLines, 20 * steps.MaxOutputLines
	m, fr := benchModel(120, 40)
	i := 3
	m = send(m, eventMsg{ev: ev(steps.StepStarted, i)})
	empty := heapInUse()
	m, _ = deliver(m, fr, i, 0, first, false)
	atFirst := heapInUse()
	m, _ = deliver(m, fr, i, first, all, false)
	atAll := heapInUse()

	v := m.views[i]
	if v.total != all || len(v.output) != steps.MaxOutputLines {
		t.Fatalf("the step got %d lines and keeps %d; want %d and %d", v.total, len(v.output), all, steps.MaxOutputLines)
	}
	if want := strings.ReplaceAll(outputLine(all-1), "\t", "    "); v.output[len(v.output)-1] != want {
		t.Errorf("the last line kept is %q, want %q", v.output[len(v.output)-1], want)
	}
	if want := strings.ReplaceAll(outputLine(all-steps.MaxOutputLines), "\t", "    "); v.output[0] != want {
		t.Errorf("the first line kept is %q, want %q", v.output[0], want)
	}
	// The arrays behind the kept lines (which also hold dropped lines
	// until append moves them) stay within twice the limit.
	if c := cap(v.output); c > 2*steps.MaxOutputLines {
		t.Errorf("the output's array holds %d lines", c)
	}
	if r := m.outCache.rendered; len(r) != steps.MaxOutputLines || cap(r) > 2*steps.MaxOutputLines {
		t.Errorf("the wrapped output keeps %d lines in an array of %d", len(r), cap(r))
	}
	if n := m.output.TotalLineCount(); n < steps.MaxOutputLines || n > 3*steps.MaxOutputLines {
		t.Errorf("the output pane holds %d rows", n)
	}

	kept, growth := atFirst-empty, atAll-atFirst
	t.Logf("heap: %d KiB with no output, %d KiB after %d lines, %d KiB after %d lines (%+d KiB)",
		empty>>10, atFirst>>10, first, atAll>>10, all, growth>>10)
	// Unbounded, the 90,000 more lines would add about 18 times what the
	// kept ones take; the stale entries of the arrays can make a few
	// hundred KiB of difference either way.
	if growth > kept/2 {
		t.Errorf("the heap grew by %d KiB from %d to %d lines; the kept lines take %d KiB", growth>>10, first, all, kept>>10)
	}
	runtime.KeepAlive(m)
}

// TestPanelMemoryIsFlatOverPolls delivers polls at the default interval,
// each with full 200-line log tails (new strings every time) on both
// servers, and checks that the model's heap at the end is what it was a
// quarter of the way: the panel keeps the last poll, and the earlier
// polls the diagnosis needs are thinned and bounded. 1,200 polls (ten
// minutes, ten times the window of recent polls kept) by default;
// WALSTEP_POLLS=7200 is an hour.
func TestPanelMemoryIsFlatOverPolls(t *testing.T) {
	if testing.Short() || raceEnabled() {
		// What is checked is memory, not races; the race detector makes
		// pg.Diagnose's regexps over the log tails some 50 times slower.
		t.Skip("a poll with full log tails costs about 2 ms of pg.Diagnose (100 ms under -race)")
	}
	polls := 1200
	if s := os.Getenv("WALSTEP_POLLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 8 {
			t.Fatalf("WALSTEP_POLLS=%q", s)
		}
		polls = n
	}
	const every = 500 * time.Millisecond
	m, _ := benchModel(120, 40)
	poll := func(k int) {
		at := clock.Add(time.Duration(k) * every)
		s := divergedSnap(at)
		s.Seq = uint64(k)
		s.Nodes[0].LogTail = benchLogTail(fmt.Sprintf("primary %d", k), 200)
		s.Nodes[1].LogTail = benchLogTail(fmt.Sprintf("replica %d", k), 200)
		m = polled(m, s)
	}
	k := 1
	for ; k <= polls/4; k++ {
		poll(k)
	}
	early := heapInUse()
	earlyKept := m.watch.Len()
	for ; k <= polls; k++ {
		poll(k)
	}
	late := heapInUse()
	t.Logf("heap: %d KiB after %d polls, %d KiB after %d (%+d KiB); earlier polls kept: %d, then %d",
		early>>10, polls/4, late>>10, polls, (late-early)>>10, earlyKept, m.watch.Len())
	if m.snap.Seq != uint64(polls) {
		t.Fatalf("the panel shows poll %d, want %d", m.snap.Seq, polls)
	}
	if m.watch.Len() > pg.KeepPolls || m.watch.Len() > earlyKept+1 {
		t.Errorf("earlier polls kept: %d after %d polls, %d after %d", earlyKept, polls/4, m.watch.Len(), polls)
	}
	if late-early > 1<<20 {
		t.Errorf("the heap grew by %d KiB", (late-early)>>10)
	}
	runtime.KeepAlive(m)
}
