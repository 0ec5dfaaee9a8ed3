package headless

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"walstep/pg"
	"walstep/present"
	"walstep/steps"
	"walstep/transcript"
	"walstep/untrusted"
)

// StepReport is one step in the report.
type StepReport struct {
	ID       string       `json:"id"`
	Seed     string       `json:"seed"`
	Title    string       `json:"title"`
	Status   steps.Status `json:"status"`
	Duration string       `json:"duration"`
	Seconds  float64      `json:"seconds"`
	Error    string       `json:"error,omitempty"`
}

// Report is what `walstep run` prints, as text or JSON.
type Report struct {
	Lab       string            `json:"lab"`
	Backend   string            `json:"backend"`
	Archiver  string            `json:"archiver"`
	Steps     []StepReport      `json:"steps"`
	Nodes     []pg.Reading      `json:"nodes"` // every server, in the playbook's order
	Archive   pg.Archive        `json:"archive"`
	Histories []pg.History      `json:"histories"`
	Addrs     map[string]string `json:"addresses"`
	Snapshot  pg.Snapshot       `json:"-"`
	Diagnosis *pg.Diagnosis     `json:"diagnosis,omitempty"`
	// WALPastFork is the WAL at the fork, read with pg_waldump.
	WALPastFork *pg.WALAtFork `json:"wal_past_fork,omitempty"`
	// Interrupted: the run was stopped (Ctrl-C, SIGTERM) before it ended,
	// so the state is where it stopped, not an outcome.
	Interrupted bool `json:"interrupted,omitempty"`
}

// VerdictInterrupted is the verdict of a run stopped before its end.
const VerdictInterrupted = "interrupted"

// AddrList is the servers' addresses, "node addr" each.
func (r Report) AddrList() []string {
	var out []string
	for _, n := range r.Nodes {
		out = append(out, n.Node+" "+r.Addrs[n.Node])
	}
	return out
}

// BuildReport is the report of a run that ended as res: each step, the
// servers read once more, the diagnosis and the WAL at the fork.
func BuildReport(ctx context.Context, s *Session, res RunResult) Report {
	rep := Report{Lab: s.Lab.Dir, Backend: s.Backend.Name(), Archiver: s.Archiver.Name(), Interrupted: ctx.Err() != nil}
	for i, st := range s.Steps {
		ss := res.Snap.States[i]
		sr := StepReport{ID: st.ID, Seed: st.Seed, Title: st.Title, Status: ss.Status, Duration: ss.Duration.Round(time.Millisecond).String(), Seconds: ss.Duration.Seconds()}
		if ss.Err != nil {
			sr.Error = untrusted.Shown(ss.Err.Error())
		}
		rep.Steps = append(rep.Steps, sr)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	snap := s.Poll(pctx)
	rep.Snapshot = snap
	rep.Nodes = snap.Nodes
	rep.Archive = snap.Archive
	rep.Histories = snap.Histories
	rep.Addrs = map[string]string{}
	for _, n := range s.Lab.Topology().Nodes() {
		rep.Addrs[string(n)] = s.Backend.Addr(n)
	}
	_, d := res.Watch.Observe(snap)
	rep.Diagnosis = &d
	addWAL(ctx, s, &rep)
	pg.ApplyProof(rep.Diagnosis, rep.WALPastFork, s.Env.ProofInput(s.Steps, res.Snap.States))
	return rep
}

// WriteText prints the report for people: a step summary, both
// servers, the archive and the timeline history.
func WriteText(out io.Writer, rep Report) {
	// Masked as a whole, as every output is.
	w := new(strings.Builder)
	defer func() { _, _ = io.WriteString(out, untrusted.MaskSecrets(w.String())) }()
	fmt.Fprintf(w, "\n== Report: lab %s, backend %s, archiver %s\n", rep.Lab, rep.Backend, rep.Archiver)
	if rep.Interrupted {
		fmt.Fprintln(w, "interrupted: the run was stopped before its end; below is where it stood, not an outcome")
	}
	done, failed, skipped, pending := 0, 0, 0, 0
	var total time.Duration
	for _, s := range rep.Steps {
		total += time.Duration(s.Seconds * float64(time.Second))
		switch s.Status {
		case steps.Done:
			done++
		case steps.Failed:
			failed++
		case steps.Skipped:
			skipped++
		default:
			pending++
		}
	}
	fmt.Fprintf(w, "steps: %d done, %d failed, %d skipped, %d not run, %s in all\n", done, failed, skipped, pending, total.Round(time.Millisecond))
	for _, s := range rep.Steps {
		if s.Status == steps.Failed {
			fmt.Fprintf(w, "  failed: %s %s: %s\n", s.ID, s.Title, s.Error)
		}
	}
	fmt.Fprintln(w, "\n== Servers")
	for _, r := range rep.Nodes {
		fmt.Fprint(w, present.ServerText(r, rep.Addrs[r.Node]))
	}
	fmt.Fprintln(w, "\n== Archive")
	fmt.Fprint(w, present.ArchiveList(rep.Archive))
	fmt.Fprintln(w, "\n== Timeline history")
	if len(rep.Histories) == 0 {
		fmt.Fprintln(w, "  no history files: everything is on timeline 1")
	}
	for _, h := range rep.Histories {
		fmt.Fprintf(w, "  %s:\n", h.File)
		for _, e := range h.Entries {
			fmt.Fprintf(w, "    %s; timeline %d forked there\n", present.HistoryEnd(e), h.TLI)
		}
	}
	writeWALText(w, rep)
	writeDiagnosisText(w, rep)
}

// writeDiagnosisText prints the verdict (see pg.Diagnose).
func writeDiagnosisText(w io.Writer, rep Report) {
	fmt.Fprintln(w, "\n== Timelines")
	fmt.Fprintln(w, indent(present.ReportTimeline(rep.Snapshot)))
	fmt.Fprintln(w, "\n== Archive view")
	fmt.Fprintln(w, indent(present.ReportArchive(rep.Snapshot)))
	d := rep.Diagnosis
	if d == nil {
		return
	}
	fmt.Fprint(w, present.Diagnosis(*d, present.DiagnosisForm{
		Heading: "\n== Diagnosis: " + strings.ToUpper(string(d.Verdict)), Sep: "\n", End: "\n", Bullet: "  - ",
	}))
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}

// Verdict is the diagnosis verdict of a report.
func Verdict(rep Report) string {
	if rep.Interrupted {
		return VerdictInterrupted
	}
	if rep.Diagnosis == nil {
		return string(pg.VerdictUnknown)
	}
	return string(rep.Diagnosis.Verdict)
}

// FinishTranscript ends a transcript with the report's outcome.
func FinishTranscript(tr *transcript.Transcript, rep Report) error {
	d := rep.Diagnosis
	if d == nil {
		d = &pg.Diagnosis{Verdict: pg.VerdictUnknown}
	}
	pic := present.ReportTimeline(rep.Snapshot)
	werr := transcriptWAL(tr, rep)
	if err := tr.Finish(rep.Snapshot, *d, pic); err != nil {
		return err
	}
	return werr
}
