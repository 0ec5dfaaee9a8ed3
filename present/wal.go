package present

import (
	"fmt"
	"strings"

	"walstep/pg"
)

// RenderWAL draws the WAL at the fork (the debugger's w view, a section
// of the report and of transcripts): the sentence for the diagnosis,
// then the records the replica replayed on the old timeline past the fork
// and the first records of the new timeline, one per line (LSN, resource
// manager, type, transaction, relations or description). A long range
// shows its first and last records around a count, then a summary per
// resource manager and type. Lines are at most width cells; the sentence
// and notes wrap, a record line too long is cut (the w view scrolls).
func RenderWAL(w *pg.WALAtFork, width int, st DiagStyles) string {
	return renderWAL(w, width, st, false)
}

// RenderWALDocument is RenderWAL for a document (a report, a transcript):
// a record line too long wraps under itself instead of being cut, since a
// reader there has no way to scroll to its end.
func RenderWALDocument(w *pg.WALAtFork, width int, st DiagStyles) string {
	return renderWAL(w, width, st, true)
}

// walLine makes one line of the WAL view: cut to width, or with wrapped
// wrapped to it, the continuation indented under the description.
func walLine(style func(...string) string, text string, width int, wrapped bool) []string {
	if !wrapped || len([]rune(text)) <= width || width < 30 {
		return []string{style(diagClip(text, width))}
	}
	r := []rune(text)
	cut := width
	for cut > width/2 && r[cut] != ' ' {
		cut--
	}
	if r[cut] != ' ' {
		cut = width
	}
	out := []string{style(strings.TrimRight(string(r[:cut]), " "))}
	for _, l := range diagWrap(strings.TrimSpace(string(r[cut:])), width-walHang) {
		out = append(out, style(strings.Repeat(" ", walHang)+l))
	}
	return out
}

// walHang indents a record line's continuation.
const walHang = 6

func renderWAL(w *pg.WALAtFork, width int, st DiagStyles, wrapped bool) string {
	var out []string
	line := func(style func(...string) string, text string) {
		out = append(out, walLine(style, text, width, wrapped)...)
	}
	para := func(style func(...string) string, text string) {
		for _, l := range diagWrap(text, max(width, 10)) {
			out = append(out, style(l))
		}
	}
	heading, label := st.Heading.Render, st.Label.Render
	if w == nil {
		para(label, "not read yet")
		return strings.Join(out, "\n")
	}
	if w.ForkLSN.Valid() {
		fork := fmt.Sprintf("Fork: timeline %d left timeline %d at %s", w.NewTimeline.Timeline, w.Timeline, w.ForkLSN)
		if w.Reason != "" {
			fork += " (" + w.Reason + ")"
		}
		line(heading, fork)
	}
	if w.Note != "" {
		para(label, capitalise(w.Note)+".")
	}
	if w.Sentence != "" {
		para(st.PastFork.Render, w.Sentence)
	}
	if w.Note == "" {
		out = append(out, "")
		title := fmt.Sprintf("Timeline %d past the fork, %s to %s: %s has it, timeline %d does not", w.Timeline, w.From, w.To, w.StandbyNoun(), w.NewTimeline.Timeline)
		out = append(out, walRange(w.WALRange, title, width, st, wrapped)...)
	}
	if w.NewTimeline.Timeline != 0 {
		out = append(out, "")
		title := fmt.Sprintf("Timeline %d from the fork", w.NewTimeline.Timeline)
		if w.Note == "" {
			title += ": what " + w.UpstreamNoun() + " has instead"
		}
		out = append(out, walRange(w.NewTimeline, title, width, st, wrapped)...)
	}
	return strings.Join(out, "\n")
}

// walRange draws one range: its title and source, its records (with the
// omitted ones counted), what the transactions wrote, a summary, and why
// it is incomplete.
func walRange(r pg.WALRange, title string, width int, st DiagStyles, wrapped bool) []string {
	var out []string
	line := func(style func(...string) string, text string) {
		out = append(out, walLine(style, text, width, wrapped)...)
	}
	if r.Source != "" {
		title += " · from " + r.Source
	}
	for _, l := range diagWrap(title, max(width, 10)) {
		out = append(out, st.Heading.Render(l))
	}
	if r.Err != "" {
		for _, l := range diagWrap("cannot read: "+r.Err, max(width-2, 8)) {
			out = append(out, st.Alarm.Render("  "+l))
		}
	}
	if r.Total == 0 {
		if r.Err == "" {
			line(st.Label.Render, "  no records")
		}
		return out
	}
	line(st.Label.Render, "  "+walColumns("LSN", "rmgr", "type", "xid", "relations / description"))
	for i, rec := range r.Records {
		if r.Omitted > 0 && i == len(r.Records)/2 {
			line(st.Label.Render, fmt.Sprintf("  … %d records not shown (summary below) …", r.Omitted))
		}
		style := func(s ...string) string { return strings.Join(s, "") }
		if rec.XID != 0 {
			style = st.PastFork.Render
		}
		line(style, "  "+walRecordLine(rec))
	}
	count := plural(r.Total, "record")
	if r.Transactions > 0 {
		count += fmt.Sprintf(" · %s (%d committed) writing to %s", plural(r.Transactions, "transaction"), r.Committed, strings.Join(r.Tables, ", "))
	} else {
		count += " · no transaction"
	}
	for _, l := range diagWrap(count, max(width-2, 8)) {
		out = append(out, st.Label.Render("  "+l))
	}
	if len(r.Summary) > 0 {
		line(st.Label.Render, "  per rmgr and type:")
		for _, g := range r.Summary {
			line(func(s ...string) string { return strings.Join(s, "") }, fmt.Sprintf("    %-30s %6d  %s … %s", g.Kind, g.Count, g.First, g.Last))
		}
	}
	if r.Capped != "" {
		for _, l := range diagWrap(r.Capped, max(width-2, 8)) {
			out = append(out, st.Alarm.Render("  "+l))
		}
	}
	return out
}

func walColumns(lsn, rmgr, typ, xid, rest string) string {
	return strings.TrimRight(fmt.Sprintf("%-10s %-11s %-19s %5s  %s", lsn, rmgr, typ, xid, rest), " ")
}

// walRecordLine is one record: relations when it touches any, else the
// rest of its description.
func walRecordLine(r pg.WALRecord) string {
	xid := ""
	if r.XID != 0 {
		xid = fmt.Sprint(r.XID)
	}
	rest := strings.TrimSpace(strings.TrimPrefix(r.Desc, r.Type))
	if len(r.Relations) > 0 {
		rest = strings.Join(r.Relations, ", ")
	} else if len(r.Rels) > 0 {
		var rels []string
		for _, rf := range r.Rels {
			rels = append(rels, "rel "+rf.String())
		}
		rest = strings.Join(rels, ", ")
	}
	return walColumns(r.LSN.String(), r.Rmgr, r.Type, xid, rest)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
