package present

import (
	"fmt"
	"io"
	"strings"
	"time"

	"walstep/pg"
	"walstep/untrusted"
)

// Report is what a Markdown report for an issue tracker holds: a run's
// outcome and everything someone upstream needs to read it without
// walstep.
type Report struct {
	Generated              time.Time
	Lab, Backend, Archiver string
	// Playbook and PlaybookTitle are the front matter's name and title
	// of the playbook run; "" or the seed's name: the seed's words.
	Playbook, PlaybookTitle string
	Notes                   []string  // how the backend and archiver were chosen
	Versions                []Version // PostgreSQL, WAL-G, walstep, …
	Steps                   []ReportStep
	Snapshot                pg.Snapshot // the readings after the run
	// ServersThen says what became of the servers after Snapshot was
	// read ("walstep stops them once this report is written"), so
	// states read while they ran are not taken for the end state.
	ServersThen string
	Diagnosis   *pg.Diagnosis
	WAL         *pg.WALAtFork // the WAL at the fork, when it was read
	Confs       []Conf        // the lab's editable files, as run
}

// Version is one "name: version" line, with where it was read.
type Version struct {
	Name, Value, Source string
}

// ReportStep is one step of the playbook as it ran.
type ReportStep struct {
	ID, Title, Status string
	Duration          time.Duration
	Error             string
}

// Conf is one of the lab's files; WriteMarkdown masks its secrets.
type Conf struct {
	Name, Text string
}

// WriteMarkdown writes r as a Markdown document: the verdict first, then
// the timeline picture, the archive view, the diagnosis with its evidence,
// the versions, the steps and the lab's files with their secrets masked.
func WriteMarkdown(w io.Writer, r Report) error {
	var b strings.Builder
	d := r.Diagnosis
	if d == nil {
		d = &pg.Diagnosis{Verdict: pg.VerdictUnknown, Explanation: "No diagnosis: the run ended before the servers could be read."}
	}
	when := fmt.Sprintf("run step by step by walstep on %s (%s backend, %s archiver)", r.Generated.UTC().Format("2006-01-02 15:04 UTC"), r.Backend, r.Archiver)
	if r.Playbook == "" || r.Playbook == "seed" {
		fmt.Fprintf(&b, "# PostgreSQL concurrent restore: verdict %s\n\n", strings.ToUpper(string(d.Verdict)))
		fmt.Fprintf(&b, "A primary and a replica restored concurrently from the same backup, %s.\n\n", when)
	} else {
		title := r.PlaybookTitle
		if title == "" {
			title = r.Playbook
		}
		fmt.Fprintf(&b, "# %s: verdict %s\n\n", inline(title), strings.ToUpper(string(d.Verdict)))
		fmt.Fprintf(&b, "The playbook `%s`, its servers %s, %s.\n\n", inline(r.Playbook), serverRoles(Nodes(r.Snapshot)), when)
	}
	if d.Explanation != "" {
		fmt.Fprintf(&b, "**%s.** %s\n\n", capitalise(string(d.Verdict)), d.Explanation)
	}

	b.WriteString("## Timelines\n\n")
	b.WriteString(CodeBlock("text", ReportTimeline(r.Snapshot)))
	b.WriteString("## Archive\n\n")
	b.WriteString(CodeBlock("text", ReportArchive(r.Snapshot)))

	b.WriteString(Diagnosis(*d, DiagnosisForm{
		Heading: fmt.Sprintf("## Diagnosis: %s", d.Verdict), Sep: "\n\n", End: "\n\n",
		Explanation: ExplainNowhere, EvidenceTitle: "Evidence:\n\n", Bullet: "- ", Item: inline,
		Findings: func(fs []pg.Finding) string {
			var lines []string
			for _, f := range fs {
				lines = append(lines, f.Node+": "+Repeat{Line: f.Line, Count: f.Repeats}.String())
			}
			return "Log lines that matter:\n\n" + strings.TrimRight(CodeBlock("text", strings.Join(lines, "\n")), "\n")
		},
	}))
	if r.WAL != nil {
		b.WriteString("WAL at the fork (pg_waldump):\n\n")
		b.WriteString(CodeBlock("text", ReportWAL(r.WAL)))
	}
	read := "Servers as walstep read them when the last step had ended"
	if at := r.Snapshot.At; !at.IsZero() {
		read += " (" + at.UTC().Format("15:04:05 UTC") + ")"
	}
	if r.ServersThen != "" {
		read += "; " + r.ServersThen
	}
	b.WriteString(read + ":\n\n")
	for _, n := range Nodes(r.Snapshot) {
		fmt.Fprintf(&b, "- %s: %s\n", n.Node, inline(n.Summary()))
	}
	b.WriteString(HistoryItems(r.Snapshot.Histories))
	b.WriteString("\n")

	b.WriteString("## Versions\n\n| | version | read from |\n|---|---|---|\n")
	for _, v := range r.Versions {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(v.Name), cell(v.Value), cell(v.Source))
	}
	fmt.Fprintf(&b, "| backend | %s | |\n| archiver | %s | |\n\n", cell(r.Backend), cell(r.Archiver))
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "- %s\n", inline(n))
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
	}

	b.WriteString("## Steps\n\n| step | what | status | time |\n|---|---|---|---|\n")
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(s.ID), cell(s.Title), cell(s.Status), s.Duration.Round(time.Millisecond))
	}
	b.WriteString("\n")
	for _, s := range r.Steps {
		if s.Error != "" {
			fmt.Fprintf(&b, "Step %s failed:\n\n", s.ID)
			b.WriteString(CodeBlock("text", s.Error))
		}
	}

	b.WriteString("## Lab configuration\n\nThe lab's files as the run used them (secrets masked):\n\n")
	for _, c := range r.Confs {
		lang := "ini"
		switch {
		case strings.HasSuffix(c.Name, ".json"):
			lang = "json"
		case strings.HasSuffix(c.Name, ".sql"):
			lang = "sql"
		case strings.HasSuffix(c.Name, ".sh"):
			lang = "sh"
		}
		fmt.Fprintf(&b, "`%s`:\n\n", c.Name)
		b.WriteString(CodeBlock(lang, c.Text))
	}
	fmt.Fprintf(&b, "---\nMade by `walstep run --markdown` in lab `%s`.\n", r.Lab)
	// The whole report, not only the confs: a step's error or a log line
	// can quote a secret too.
	_, err := io.WriteString(w, untrusted.MaskSecrets(b.String()))
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// inline keeps a line of text on its line: no newlines or table pipes
// breaking a list item.
func inline(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// serverRoles says what the playbook declares each server to be: "a
// (primary), b (standby of a) and c (standby of b)".
func serverRoles(ns []NodeReading) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		role := "primary"
		if n.Reading.Upstream != "" {
			role = "standby of " + n.Reading.Upstream
		}
		parts[i] = fmt.Sprintf("%s (%s)", n.Node, role)
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// cell is text safe in a table cell.
func cell(s string) string {
	return strings.ReplaceAll(inline(s), "|", `\|`)
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
