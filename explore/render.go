package explore

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// cellText is a cell as the text matrix shows it.
func cellText(c *Cell) string {
	if c == nil || c.Runs == 0 {
		return "—"
	}
	s := c.Summary() + " · " + c.Median()
	if !c.Done() {
		s += " (interrupted)"
	}
	return s
}

// WriteText prints the matrix for a terminal: one row per variant, one
// column per version × archiver, then what each variant is.
func WriteText(w io.Writer, m *Matrix) {
	head := []string{"variant"}
	for _, c := range m.Columns {
		head = append(head, c.Label())
	}
	rows := [][]string{head}
	for _, v := range m.Variants {
		row := []string{v.Name}
		for _, c := range m.Columns {
			row = append(row, cellText(m.Cell(v.Name, c)))
		}
		rows = append(rows, row)
	}
	width := make([]int, len(head))
	for _, r := range rows {
		for i, s := range r {
			width[i] = max(width[i], utf8.RuneCountInString(s))
		}
	}
	fmt.Fprintf(w, "\n== Explore: %d variants × %d columns, backend %s, %d run(s) per cell, %d job(s), %s wall\n",
		len(m.Variants), len(m.Columns), m.Backend, m.Repeat, m.Jobs, roundDur(time.Duration(m.WallMS)*time.Millisecond))
	for i, r := range rows {
		var b strings.Builder
		for j, s := range r {
			b.WriteString(s)
			if j < len(r)-1 {
				b.WriteString(strings.Repeat(" ", width[j]-utf8.RuneCountInString(s)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if i == 0 {
			total := 0
			for _, x := range width {
				total += x + 2
			}
			fmt.Fprintln(w, strings.Repeat("─", total-2))
		}
	}
	fmt.Fprintln(w)
	for _, v := range m.Variants {
		if v.Description != "" {
			fmt.Fprintf(w, "  %-*s %s\n", width[0], v.Name, v.Description)
		}
	}
	if sh := m.Identity.Shard; !sh.Whole() {
		fmt.Fprintf(w, "\nshard %s: %d of the matrix's %d cells; — marks the other shards' (walstep explore merge folds the shards' results)\n",
			sh, len(m.Cells), len(m.Variants)*len(m.Columns))
	}
	if m.Interrupted {
		fmt.Fprintf(w, "\ninterrupted: %d of %d cells done; — marks cells not run\n", m.CellsDone(), m.cellsPlanned())
	}
	fmt.Fprintf(w, "\nruns' transcripts and reports: %s (matrix.md links them)\n", m.Dir)
}

// WriteMarkdown writes the matrix as Markdown, each cell linking to its
// runs' transcripts; links are relative to dir, where the file is written.
func WriteMarkdown(w io.Writer, m *Matrix, dir string) {
	rel := func(p string) string {
		abs := filepath.Join(m.Dir, p)
		if r, err := filepath.Rel(dir, abs); err == nil {
			return filepath.ToSlash(r)
		}
		return abs
	}
	fmt.Fprintf(w, "# walstep explore — %s\n\n", m.Started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "Lab `%s`, backend %s, %d run(s) per cell, %d job(s), wall time %s (its runs and prefixes end to end: %s).\n\n",
		m.Lab, m.Backend, m.Repeat, m.Jobs, roundDur(time.Duration(m.WallMS)*time.Millisecond), roundDur(time.Duration(m.SumRunsMS)*time.Millisecond))
	fmt.Fprint(w, "| variant |")
	for _, c := range m.Columns {
		fmt.Fprintf(w, " PostgreSQL %d, %s |", c.PG, c.Archiver)
	}
	fmt.Fprint(w, "\n|---|")
	for range m.Columns {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, v := range m.Variants {
		fmt.Fprintf(w, "| `%s` |", v.Name)
		for _, col := range m.Columns {
			c := m.Cell(v.Name, col)
			if c == nil || c.Runs == 0 {
				fmt.Fprint(w, " — |")
				continue
			}
			var links []string
			for _, r := range c.Results {
				if r.Transcript != "" {
					links = append(links, fmt.Sprintf("[%d](%s)", r.Run, rel(r.Transcript)))
				}
			}
			fmt.Fprintf(w, " %s · %s", c.Summary(), c.Median())
			if len(links) > 0 {
				fmt.Fprintf(w, " (runs %s)", strings.Join(links, " "))
			}
			fmt.Fprint(w, " |")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	for _, v := range m.Variants {
		desc := v.Description
		if desc == "" {
			desc = "(no README line)"
		}
		fmt.Fprintf(w, "- `%s`: %s\n", v.Name, desc)
	}
	if len(m.Prefixes) > 0 {
		fmt.Fprintln(w, "\nShared prefixes (run once, verified, copied into each run):")
		fmt.Fprintln(w)
		for _, p := range m.Prefixes {
			line := fmt.Sprintf("- PostgreSQL %d, %s: steps %s in %s", p.PG, p.Archiver, p.Steps, roundDur(time.Duration(p.MS)*time.Millisecond))
			if p.Transcript != "" {
				line += fmt.Sprintf(" ([transcript](%s))", rel(p.Transcript))
			}
			if p.Error != "" {
				line += ": " + p.Error
			}
			fmt.Fprintln(w, line)
		}
	}
	if m.Interrupted {
		fmt.Fprintf(w, "\nInterrupted: %d of %d cells done; — marks cells not run.\n", m.CellsDone(), m.cellsPlanned())
	}
}

// Progress is where an exploration stands, for a progress line.
type Progress struct {
	Shard            Shard
	CellsDone, Cells int
	RunsDone, Runs   int
	Current          []string // what runs now: "default pg15 cp #1", "prefix pg15 cp"
	Elapsed          time.Duration
	Left             time.Duration // estimate; 0 when unknown
}

// Line is the progress as one line.
func (p Progress) Line() string {
	cur := "starting"
	if p.Runs > 0 && p.RunsDone == p.Runs {
		cur = "writing the matrix"
	}
	if len(p.Current) > 0 {
		cur = strings.Join(p.Current, ", ")
	}
	left := "estimating"
	if p.Left > 0 {
		left = "~" + roundDur(p.Left) + " left"
	}
	shard := ""
	if !p.Shard.Whole() {
		shard = "shard " + p.Shard.String() + " · "
	}
	return fmt.Sprintf("%scells %d/%d · runs %d/%d · now: %s · %s elapsed, %s", shard, p.CellsDone, p.Cells, p.RunsDone, p.Runs, cur, roundDur(p.Elapsed), left)
}

// cellsPlanned is how many cells the matrix is to have: a shard's own, or
// every variant × column of a whole or merged matrix.
func (m *Matrix) cellsPlanned() int {
	if !m.Identity.Shard.Whole() {
		return len(m.Cells)
	}
	return max(len(m.Cells), len(m.Variants)*len(m.Columns))
}

// RoundDur is a duration rounded for reading: "1m5s", "12s", "3.4s".
func RoundDur(d time.Duration) string { return roundDur(d) }
