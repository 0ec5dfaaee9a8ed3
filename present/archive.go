package present

import (
	"fmt"
	"sort"
	"strings"

	"walstep/pg"
)

// archiveRunMax is the longest run of consecutive segments listed in full;
// longer runs show their ends around a count, so a long-lived lab's
// archive still fits a panel.
const archiveRunMax = 5

// RenderArchive draws what the archive holds — backups, then per timeline
// its history file and WAL segments (the segment holding a fork point is
// marked) — and which file each server will ask for next, with whether it
// is there. Lines are at most width cells; 40 and more fit the names.
func RenderArchive(s pg.Snapshot, width int, st DiagStyles) string {
	var out []string
	line := func(style func(...string) string, text string) {
		out = append(out, style(diagClip(text, width)))
	}
	heading := st.Heading.Render
	label := st.Label.Render
	plain := func(s ...string) string { return strings.Join(s, "") }

	line(heading, "Backups")
	if len(s.Archive.Backups) == 0 {
		line(label, "  none")
	}
	for _, b := range s.Archive.Backups {
		line(plain, "  "+b)
	}

	// Fork points by the segment of the old timeline that holds them.
	forks := map[string][]string{}
	hist := map[uint32]pg.History{}
	for _, h := range s.Histories {
		hist[h.TLI] = h
		if parent, at, ok := h.ForkPoint(); ok {
			name := pg.WALFileName(parent, at)
			forks[name] = append(forks[name], fmt.Sprintf("TL%d forks at %s", h.TLI, at))
		}
	}
	byTLI := pg.ArchiveTimelines(s.Archive)
	extras := map[uint32][]pg.ArchiveFile{} // history, partial and backup-label files
	tlis := map[uint32]bool{}
	for t := range byTLI {
		tlis[t] = true
	}
	for _, f := range s.Archive.WAL {
		if f.History || f.Partial || f.Backup {
			extras[f.TLI] = append(extras[f.TLI], f)
			tlis[f.TLI] = true
		}
	}
	for t := range hist {
		tlis[t] = true
	}
	order := make([]uint32, 0, len(tlis))
	for t := range tlis {
		order = append(order, t)
	}
	sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })

	for _, t := range order {
		line(heading, fmt.Sprintf("Timeline %d", t))
		for _, f := range extras[t] {
			if !f.History {
				continue
			}
			text := "  " + f.Name
			if h, ok := hist[t]; ok {
				if parent, at, ok := h.ForkPoint(); ok {
					text += fmt.Sprintf(" from TL%d at %s", parent, at)
				}
			}
			line(plain, text)
		}
		if t > 1 && !hasHistory(extras[t]) {
			line(st.Alarm.Render, fmt.Sprintf("  %08X.history not archived", t))
		}
		segs := byTLI[t]
		if len(segs) == 0 {
			line(label, "  no segments yet")
		}
		for _, run := range segmentRuns(segs) {
			if len(run) > archiveRunMax {
				for _, f := range run[:2] {
					out = append(out, segmentLine(f, forks, width, st))
				}
				line(label, fmt.Sprintf("  … %d more …", len(run)-4))
				for _, f := range run[len(run)-2:] {
					out = append(out, segmentLine(f, forks, width, st))
				}
				continue
			}
			for _, f := range run {
				out = append(out, segmentLine(f, forks, width, st))
			}
		}
		for _, f := range extras[t] {
			switch {
			case f.Partial:
				line(st.Fork.Render, "  "+f.Name)
			case f.Backup:
				line(label, "  "+f.Name)
			}
		}
	}

	line(heading, "Next wanted")
	next := pg.NextWanted(s)
	if len(next) == 0 {
		line(label, "  no server has a position yet")
	}
	for _, nf := range next {
		verb := "asks for"
		if !nf.Asks {
			verb = "writes"
		}
		tl := fmt.Sprintf("TL%d", nf.Timeline)
		if nf.Target != nf.Timeline {
			tl += fmt.Sprintf("→TL%d", nf.Target)
		}
		line(st.Heading.Render, fmt.Sprintf("  %s %s %s", nf.Node, tl, verb))
		for _, w := range nf.Segments {
			out = append(out, wantedLine(w, nf, width, st))
		}
		if nf.Asks {
			out = append(out, wantedLine(nf.History, nf, width, st))
		}
		for _, l := range diagWrap(nf.Note, width-4) {
			line(label, "    "+l)
		}
	}
	return strings.Join(out, "\n")
}

func hasHistory(fs []pg.ArchiveFile) bool {
	for _, f := range fs {
		if f.History {
			return true
		}
	}
	return false
}

// segmentRuns splits segments (sorted by start) into runs without gaps.
func segmentRuns(segs []pg.ArchiveFile) [][]pg.ArchiveFile {
	var runs [][]pg.ArchiveFile
	for i, f := range segs {
		if i == 0 || f.Start != segs[i-1].Start+pg.WALSegSize {
			runs = append(runs, nil)
		}
		runs[len(runs)-1] = append(runs[len(runs)-1], f)
	}
	return runs
}

func segmentLine(f pg.ArchiveFile, forks map[string][]string, width int, st DiagStyles) string {
	text := "  " + f.Name
	mark := ""
	if fs := forks[f.Name]; len(fs) > 0 {
		mark = " ◂ " + strings.Join(fs, ", ")
	}
	if mark == "" || len(text)+len([]rune(mark)) > width {
		if mark != "" && len(text)+len(" ◂ fork") <= width {
			return diagClip(text, width) + st.Fork.Render(" ◂ fork")
		}
		return diagClip(text, width)
	}
	return text + st.Fork.Render(mark)
}

func wantedLine(w pg.WantedFile, nf pg.NextFiles, width int, st DiagStyles) string {
	text := "    " + w.Name
	var mark string
	var style = st.Alarm
	switch {
	case w.InArchive && w.Name == nf.Uses && len(nf.Segments) > 1 && nf.Segments[0].Name != w.Name:
		mark, style = " ✓ used", st.Fork
	case w.InArchive:
		mark, style = " ✓ there", st.Present
	case w.Partial:
		mark, style = " ~ partial only", st.Fork
	case !nf.Asks:
		mark = " ✗ not yet"
	default:
		mark = " ✗ missing"
	}
	if runeWidth(text+mark) > width {
		mark = string([]rune(mark)[:2]) // the glyph alone still says it
	}
	return diagClip(text, width-runeWidth(mark)) + style.Render(mark)
}

func runeWidth(s string) int { return len([]rune(s)) }

// diagWrap breaks plain text into lines of at most w cells at spaces.
func diagWrap(s string, w int) []string {
	if s == "" {
		return nil
	}
	if w < 10 {
		w = 10
	}
	var out []string
	cur := ""
	for _, word := range strings.Fields(s) {
		switch {
		case cur == "":
			cur = word
		case len([]rune(cur))+1+len([]rune(word)) <= w:
			cur += " " + word
		default:
			out = append(out, cur)
			cur = word
		}
	}
	if cur != "" {
		out = append(out, diagClip(cur, w))
	}
	for i := range out {
		out[i] = diagClip(out[i], w)
	}
	return out
}
