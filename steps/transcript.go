package steps

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"walstep/outfile"
	"walstep/pg"
	"walstep/untrusted"
)

// TranscriptHeader opens a transcript.
type TranscriptHeader struct {
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

// CreateTranscript creates (or replaces) path and writes the header; for
// files walstep names itself.
func CreateTranscript(path string, h TranscriptHeader) (*Transcript, error) {
	return OpenTranscript(path, h, true)
}

// OpenTranscript creates path and writes the header. An existing file is
// an error unless replace is set: a user's file is never truncated
// without being asked.
func OpenTranscript(path string, h TranscriptHeader, replace bool) (*Transcript, error) {
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

// fence picks a code fence longer than any backtick run in s.
func fence(s string) string {
	f := "```"
	for strings.Contains(s, f) {
		f += "`"
	}
	return f
}

// Record appends what a Runner event means to a reader: a finished step's
// section (st is its state then), a new pass, a jump. Other events add
// nothing.
func (t *Transcript) Record(all []Step, e Event, st StepState) error {
	switch e.Kind {
	case StepFinished:
		if e.Index < 0 || e.Index >= len(all) {
			return nil
		}
		return t.Step(all[e.Index], st, e.Readings)
	case PassStarted:
		return t.write(fmt.Sprintf("---\n\n## Pass %d\n\n> %s.\n\n", e.Pass, strings.ToUpper(e.Line[:1])+e.Line[1:]))
	case Jumped:
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
func (t *Transcript) Step(s Step, st StepState, snap *pg.Snapshot) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s. %s\n\n", s.ID, s.Title)
	switch st.Status {
	case Skipped:
		b.WriteString("**skipped**: not run in this pass\n\n")
		return t.write(b.String())
	case Cancelled:
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
		fc := fence(st.Command)
		fmt.Fprintf(&b, "Command (as read when the step started):\n\n%ssh\n%s\n%s\n\n", fc, st.Command, fc)
	case s.Command != "":
		fc := fence(s.Command)
		fmt.Fprintf(&b, "Command (%s):\n\n%ssh\n%s\n%s\n\n", commandLabel(s), fc, s.Command, fc)
	}
	if len(st.Output) > 0 {
		out := strings.Join(st.Output, "\n")
		fc := fence(out)
		fmt.Fprintf(&b, "Output:\n\n%s\n%s\n%s\n\n", fc, out, fc)
	}
	if s.Watch != "" {
		fmt.Fprintf(&b, "What to watch: %s\n\n", s.Watch)
	}
	if snap != nil {
		fmt.Fprintf(&b, "Readings when this step ended, before the next one started:\n\n- primary: %s\n- replica: %s\n\n", snap.Primary.Summary(), snap.Replica.Summary())
	}
	return t.write(b.String())
}

// Section appends a titled block of preformatted text (a view of the
// front ends, such as the WAL at the fork).
func (t *Transcript) Section(title, text string) error {
	fc := fence(text)
	return t.write(fmt.Sprintf("## %s\n\n%s\n%s\n%s\n\n", title, fc, strings.TrimRight(text, "\n"), fc))
}

// Finish appends the verdict, its evidence and the timeline picture, and
// closes the file.
func (t *Transcript) Finish(snap pg.Snapshot, verdict, explanation string, evidence []string, picture string) error {
	var b strings.Builder
	b.WriteString("## Outcome\n\n")
	fmt.Fprintf(&b, "- primary: %s\n- replica: %s\n\n", snap.Primary.Summary(), snap.Replica.Summary())
	if verdict != "" {
		fmt.Fprintf(&b, "**Verdict: %s.** %s\n\n", verdict, explanation)
	}
	for _, e := range evidence {
		fmt.Fprintf(&b, "- %s\n", e)
	}
	if len(evidence) > 0 {
		b.WriteString("\n")
	}
	for _, h := range snap.Histories {
		for _, e := range h.Entries {
			fmt.Fprintf(&b, "- `%s`: timeline %d ended at %s (%s)\n", h.File, e.TLI, e.Switch, e.Reason)
		}
	}
	if picture != "" {
		fc := fence(picture)
		fmt.Fprintf(&b, "\nTimelines:\n\n%s\n%s\n%s\n", fc, strings.TrimRight(picture, "\n"), fc)
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
	// Written is only written if the file is still there at its path.
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
func commandLabel(s Step) string {
	if s.CommandLabel != "" {
		return s.CommandLabel
	}
	return "as written"
}
