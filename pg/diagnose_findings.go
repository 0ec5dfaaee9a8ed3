package pg

import (
	"fmt"
	"sort"
	"strings"
)

// streamFailure is the last reason the replica's wal receiver gave for not
// streaming (it cannot connect, or its slot is missing) since the server
// last started, with how often it came.
func streamFailure(r Reading) (Finding, bool) {
	lines := r.LogTail
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "LOG:  starting PostgreSQL") {
			lines = lines[i+1:]
			break
		}
	}
	var last Finding
	found := false
	for _, f := range dedupe(ExplainLog(r.Node, lines)) {
		if f.Kind == FindCannotConnect || f.Kind == FindSlotMissing {
			last, found = f, true
		}
	}
	return last, found
}

// sameNewTimeline finds both servers promoting onto the same timeline ID:
// two different timelines under one number, the bluntest split of all.
func sameNewTimeline(p, r Reading) (Finding, bool) {
	sel := func(rd Reading) map[uint32]string {
		out := map[uint32]string{}
		for _, f := range ExplainLog(rd.Node, rd.LogTail) {
			if f.Kind == FindSelectedTimeline {
				out[f.Timeline] = f.Line
			}
		}
		return out
	}
	ps, rs := sel(p), sel(r)
	var tlis []uint32
	for t := range ps {
		if _, ok := rs[t]; ok {
			tlis = append(tlis, t)
		}
	}
	if len(tlis) == 0 {
		return Finding{}, false
	}
	sort.Slice(tlis, func(i, j int) bool { return tlis[i] < tlis[j] })
	t := tlis[0]
	return Finding{
		Kind: FindSameNewTimeline, Severity: SevDiverged, Node: "both", Timeline: t,
		Line: fmt.Sprintf("%s: %s | %s: %s", p.Node, StripLogPrefix(ps[t]), r.Node, StripLogPrefix(rs[t])),
		Explanation: fmt.Sprintf("Both servers promoted and selected the same new timeline ID %d. They now write two different timelines with the same number, "+
			"so WAL and history files named for timeline %d in the shared archive may come from either: the servers have split.", t, t),
	}, true
}

// Message is the finding's log line without its timestamp and pid.
func (f Finding) Message() string { return StripLogPrefix(f.Line) }

// dedupe keeps the first finding per node and message (PostgreSQL
// repeats a refused stream every 5 s), counting the repeats.
func dedupe(fs []Finding) []Finding {
	var out []Finding
	idx := map[string]int{}
	for _, f := range fs {
		key := f.Node + "\x00" + f.Message()
		if i, ok := idx[key]; ok {
			out[i].Repeats++
			continue
		}
		idx[key] = len(out)
		f.Repeats = 1
		out = append(out, f)
	}
	return out
}

// newestOfEach keeps one finding per node and kind, the newest: a
// refusal repeated while the primary writes on quotes a new flush position
// each time, and the evidence quotes the one the user reads last.
func newestOfEach(fs []Finding) []Finding {
	var out []Finding
	idx := map[string]int{}
	for _, f := range fs {
		key := f.Node + "\x00" + f.Kind
		if i, ok := idx[key]; ok {
			f.Repeats += out[i].Repeats
			out[i] = f
			continue
		}
		idx[key] = len(out)
		out = append(out, f)
	}
	return out
}

func describe(r Reading, pos LSN, tli uint32) string {
	what := "replay"
	switch {
	case r.Up && !r.InRecovery:
		what = "flush"
	case !r.Up && r.Control != nil && r.Control.MinRecoveryPoint.Valid():
		what = "min recovery point"
	case !r.Up && r.Control != nil:
		what = "checkpoint"
	}
	src := ""
	if r.TLISource != "" {
		src = " (" + r.TLISource + ")"
	}
	return fmt.Sprintf("%s, timeline %d%s, %s %s", orDash(r.Role, r.Process), tli, src, what, pos)
}

// orDash is the role when known, else the process state, else a dash.
func orDash(a Role, b Process) string {
	if a != "" && a != RoleUnknown {
		return string(a)
	}
	if b != "" {
		return string(b)
	}
	return "-"
}

func histFile(tli uint32) string { return fmt.Sprintf("%08X.history", tli) }

func isAncestor(h History, tli uint32) bool {
	for _, e := range h.Entries {
		if e.TLI == tli {
			return true
		}
	}
	return false
}

func nextOf(nfs []NextFiles, node string) (NextFiles, bool) {
	for _, nf := range nfs {
		if nf.Node == node {
			return nf, true
		}
	}
	return NextFiles{}, false
}

// unconfirmedStream says what the replica's wal receiver is seen doing
// when it is not confirmed streaming: connecting now, or started more than
// once since the server started (a receiver the primary keeps refusing).
// Such a replica is not known to follow anything yet.
func unconfirmedStream(r Reading) (string, bool) {
	if r.Receiver != nil && r.Receiver.Status != "" && r.Receiver.Status != "stopped" {
		return fmt.Sprintf("is %s (asking for timeline %d at %s)", r.Receiver.Status, r.Receiver.StartTLI, r.Receiver.StartLSN.OrDash()), true
	}
	lines := r.LogTail
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "LOG:  starting PostgreSQL") {
			lines = lines[i+1:]
			break
		}
	}
	starts := 0
	for _, f := range ExplainLog(r.Node, lines) {
		if f.Kind == FindStartedStreaming {
			starts++
		}
	}
	if starts > 1 {
		return fmt.Sprintf("has started %d times since the server started and stopped each time", starts), true
	}
	return "", false
}
