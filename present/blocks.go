package present

import (
	"fmt"
	"strings"

	"walstep/pg"
)

// ReportWidth is the width of the pictures in the headless reports and
// transcripts: they sit in code blocks, which issue trackers show without
// wrapping.
const ReportWidth = 78

// Fence is a Markdown code fence longer than any backtick run in s.
func Fence(s string) string {
	f := "```"
	for strings.Contains(s, f) {
		f += "`"
	}
	return f
}

// CodeBlock is s fenced as a Markdown code block in lang, followed by a
// blank line.
func CodeBlock(lang, s string) string {
	f := Fence(s)
	return fmt.Sprintf("%s%s\n%s\n%s\n\n", f, lang, strings.TrimRight(s, "\n"), f)
}

// HistoryEnd is how one history entry reads: where its timeline ended
// and why.
func HistoryEnd(e pg.HistoryEntry) string {
	return fmt.Sprintf("timeline %d ended at %s (%s)", e.TLI, e.Switch, e.Reason)
}

// HistoryItems are the history files' entries as Markdown list items,
// each naming its file.
func HistoryItems(hs []pg.History) string {
	var b strings.Builder
	for _, h := range hs {
		for _, e := range h.Entries {
			fmt.Fprintf(&b, "- `%s`: %s\n", h.File, HistoryEnd(e))
		}
	}
	return b.String()
}

// ReadingItems are every server's one-line summary as Markdown list
// items, in the playbook's order.
func ReadingItems(s pg.Snapshot) string {
	var b strings.Builder
	for _, n := range Nodes(s) {
		fmt.Fprintf(&b, "- %s: %s\n", n.Node, n.Summary())
	}
	return b.String()
}

// ServerText is a server's facts as the text report lists them: its state
// and address after its name, a fact a line, then the last problems its
// log holds.
func ServerText(r pg.Reading, addr string) string {
	w := new(strings.Builder)
	for i, f := range pg.Facts(r, pg.FactOptions{}) {
		switch {
		case i == 0: // the state, after the name
			fmt.Fprintf(w, "  %-8s %s", r.Node, f.Value)
			if addr != "" && r.Up {
				fmt.Fprintf(w, ", %s", addr)
			}
			fmt.Fprintln(w)
		case f.Label == "":
			fmt.Fprintf(w, "           %s\n", f.Value)
		default:
			fmt.Fprintf(w, "           %s %s\n", f.Label, f.Value)
		}
	}
	tail := ProblemLines(r.LogTail, 4)
	if len(tail) > 0 {
		fmt.Fprintln(w, "           log (last problems):")
		for _, l := range tail {
			fmt.Fprintf(w, "             %s\n", l)
		}
	}
	return w.String()
}

// ProblemLines returns the last n distinct FATAL/ERROR/PANIC lines, each
// with how many times the tail holds it ("(x6)"), as the panel shows it.
func ProblemLines(lines []string, n int) []string {
	var keys []string
	count := map[string]int{}
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if !pg.IsProblemLine(l) {
			continue
		}
		key := pg.StripLogPrefix(l)
		if count[key] == 0 && len(keys) < n {
			keys = append(keys, key)
		}
		count[key]++
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[len(keys)-1-i] = Repeat{Line: k, Count: count[k]}.String()
	}
	return out
}

// ArchiveList is the archive's contents as the text report lists them:
// the WAL of each timeline, the history files and the backups.
func ArchiveList(a pg.Archive) string {
	w := new(strings.Builder)
	byTLI := map[uint32][]string{}
	var tlis []uint32
	var hist []string
	for _, f := range a.WAL {
		if f.History {
			hist = append(hist, f.Name)
			continue
		}
		if _, ok := byTLI[f.TLI]; !ok {
			tlis = append(tlis, f.TLI)
		}
		byTLI[f.TLI] = append(byTLI[f.TLI], f.Name)
	}
	if len(a.WAL) == 0 {
		fmt.Fprintln(w, "  no WAL archived")
	}
	for _, t := range tlis {
		fmt.Fprintf(w, "  timeline %d WAL: %s\n", t, strings.Join(byTLI[t], " "))
	}
	if len(hist) > 0 {
		fmt.Fprintf(w, "  history files: %s\n", strings.Join(hist, " "))
	}
	if len(a.Backups) > 0 {
		fmt.Fprintf(w, "  backups: %s\n", strings.Join(a.Backups, " "))
	} else {
		fmt.Fprintln(w, "  backups: none")
	}
	return w.String()
}

// The pictures of the headless reports and the transcript: ReportWidth
// wide, without colour.

// ReportTimeline is the timeline picture of s for a report.
func ReportTimeline(s pg.Snapshot) string {
	return RenderTimeline(s, ReportWidth, PlainDiagStyles())
}

// ReportArchive is the archive view of s for a report.
func ReportArchive(s pg.Snapshot) string {
	return RenderArchive(s, ReportWidth, PlainDiagStyles())
}

// ReportWAL is the WAL at the fork for a report.
func ReportWAL(w *pg.WALAtFork) string {
	return RenderWALDocument(w, ReportWidth, PlainDiagStyles())
}
