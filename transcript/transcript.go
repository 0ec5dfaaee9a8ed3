package transcript

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"walstep/outfile"
	"walstep/pg"
	"walstep/present"
	"walstep/steps"
	"walstep/untrusted"
)

// Header opens a transcript.
type Header struct {
	Lab, Backend, Archiver string
	Notes                  []string // how the backend and archiver were chosen
	Started                time.Time
}

// Transcript is a Markdown record of a session that a colleague can read
// without walstep: each step's command, output and the readings after it,
// then the verdict and the timeline picture. Sections are appended as steps
// end, so a session that dies still leaves what happened.
type Transcript struct {
	mu   sync.Mutex
	f    *outfile.File
	path string
	err  error // the first write error: the transcript is short from there
}

// Create creates (or replaces) path and writes the header; for files
// walstep names itself.
func Create(path string, h Header) (*Transcript, error) {
	return Open(path, h, true)
}

// Open creates path and writes the header. An existing file is an error
// unless replace is set: a user's file is never truncated without being
// asked.
func Open(path string, h Header, replace bool) (*Transcript, error) {
	f, err := outfile.Create(path, replace)
	if err != nil {
		return nil, fmt.Errorf("create transcript: %w", err)
	}
	t := &Transcript{f: f, path: path}
	var b strings.Builder
	fmt.Fprintf(&b, "# walstep transcript\n\n")
	fmt.Fprintf(&b, "The PostgreSQL concurrent-restore repro, run by walstep on %s.\n\n", h.Started.UTC().Format("2006-01-02 15:04:05 UTC"))
	fmt.Fprintf(&b, "- lab: `%s`\n- backend: %s\n- archiver: %s\n", h.Lab, h.Backend, h.Archiver)
	for _, n := range h.Notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	b.WriteString("\n")
	return t, t.write(b.String())
}

func (t *Transcript) write(s string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f == nil {
		return nil
	}
	// A transcript is for sharing: secrets are masked in all of it, the
	// commands and readings as much as the output.
	if _, err := t.f.WriteString(untrusted.MaskSecrets(s)); err != nil {
		err = fmt.Errorf("transcript: %w", err)
		if t.err == nil {
			t.err = err
		}
		return err
	}
	return nil
}

// Record appends what a Runner event means to a reader: a finished step's
// section (st is its state then), a new pass, a jump. Other events add
// nothing.
func (t *Transcript) Record(all []steps.Step, e steps.Event, st steps.StepState) error {
	switch e.Kind {
	case steps.StepFinished:
		if e.Index < 0 || e.Index >= len(all) {
			return nil
		}
		return t.Step(all[e.Index], st, e.Readings)
	case steps.PassStarted:
		return t.write(fmt.Sprintf("---\n\n## Pass %d\n\n> %s.\n\n", e.Pass, strings.ToUpper(e.Line[:1])+e.Line[1:]))
	case steps.Jumped:
		if e.Index < 0 || e.Index >= len(all) || e.Index == e.From {
			return nil
		}
		was := "the end"
		if e.From >= 0 && e.From < len(all) {
			was = "step " + all[e.From].ID
		}
		dir := "ahead"
		if e.Index < e.From {
			dir = "back"
		}
		return t.write(fmt.Sprintf("> Jump %s: step %s is next (it was %s).\n\n", dir, all[e.Index].ID, was))
	}
	return nil
}

// Step appends a step's section: status, command, output, and the
// readings of both servers taken after it ended (snap may be nil). A
// skipped step is marked as not run, without the output of an earlier run.
func (t *Transcript) Step(s steps.Step, st steps.StepState, snap *pg.Snapshot) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s. %s\n\n", s.ID, s.Title)
	switch st.Status {
	case steps.Skipped:
		b.WriteString("**skipped**: not run in this pass\n\n")
		return t.write(b.String())
	case steps.Cancelled:
		fmt.Fprintf(&b, "**cancelled** after %s: stopped by the user before it ended", st.Duration.Round(time.Millisecond))
	default:
		fmt.Fprintf(&b, "**%s** in %s", st.Status, st.Duration.Round(time.Millisecond))
	}
	if st.Err != nil {
		fmt.Fprintf(&b, " — error: %s", st.Err)
	}
	b.WriteString("\n\n")
	switch {
	case st.Command != "":
		b.WriteString("Command (as read when the step started):\n\n" + present.CodeBlock("sh", st.Command))
	case s.Command != "":
		b.WriteString("Command (" + commandLabel(s) + "):\n\n" + present.CodeBlock("sh", s.Command))
	}
	if len(st.Output) > 0 {
		b.WriteString("Output:\n\n" + present.CodeBlock("", strings.Join(st.Output, "\n")))
	}
	if s.Watch != "" {
		fmt.Fprintf(&b, "What to watch: %s\n\n", s.Watch)
	}
	if snap != nil {
		b.WriteString("Readings when this step ended, before the next one started:\n\n" + present.ReadingItems(*snap) + "\n")
	}
	return t.write(b.String())
}

// Section appends a titled block of preformatted text (a view of the
// front ends, such as the WAL at the fork).
func (t *Transcript) Section(title, text string) error {
	return t.write("## " + title + "\n\n" + present.CodeBlock("", text))
}

// Finish appends the verdict, its evidence and the timeline picture, and
// closes the file.
func (t *Transcript) Finish(snap pg.Snapshot, d pg.Diagnosis, picture string) error {
	var b strings.Builder
	b.WriteString("## Outcome\n\n")
	b.WriteString(present.ReadingItems(snap) + "\n")
	b.WriteString(present.Diagnosis(d, present.DiagnosisForm{
		Heading: fmt.Sprintf("**Verdict: %s.** %s", d.Verdict, d.Explanation), Sep: "\n\n", End: "\n\n",
		Explanation: present.ExplainNowhere, Bullet: "- ",
	}))
	b.WriteString(present.HistoryItems(snap.Histories))
	if picture != "" {
		b.WriteString("\nTimelines:\n\n" + strings.TrimSuffix(present.CodeBlock("", picture), "\n"))
	}
	err := t.write(b.String())
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close closes the file; later writes are dropped.
func (t *Transcript) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f == nil {
		return t.err
	}
	// A transcript is written only if its path still names the file
	// walstep wrote.
	if t.path != "" {
		st, serr := t.f.Stat()
		pst, perr := os.Stat(t.path)
		if serr == nil && (perr != nil || !os.SameFile(st, pst)) && t.err == nil {
			t.err = fmt.Errorf("transcript %s was removed or replaced while walstep wrote it", t.path)
		}
	}
	if err := t.f.Close(); err != nil && t.err == nil {
		t.err = fmt.Errorf("transcript: %w", err)
	}
	t.f = nil
	return t.err
}

// commandLabel is what a step's playbook calls its command ("seed's"),
// "as written" when it does not say.
func commandLabel(s steps.Step) string {
	if s.CommandLabel != "" {
		return s.CommandLabel
	}
	return "as written"
}
