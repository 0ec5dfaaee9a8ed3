package headless

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"walstep/explore"
	"walstep/steps"
)

// RepeatRun is one run of --repeat.
type RepeatRun struct {
	Run        int     `json:"run"`
	Verdict    string  `json:"verdict"`
	Seconds    float64 `json:"seconds"`
	Diagnosis  string  `json:"diagnosis,omitempty"` // what the diagnosis said when a step failed
	FailedStep string  `json:"failed_step,omitempty"`
	Error      string  `json:"error,omitempty"` // the failed step's error
}

// StepStats are a step's timings over the runs.
type StepStats struct {
	ID     string  `json:"id"`
	Title  string  `json:"title"`
	Median float64 `json:"median_seconds"`
	Min    float64 `json:"min_seconds"`
	Max    float64 `json:"max_seconds"`
}

// RepeatReport is what `walstep run --repeat N` prints.
type RepeatReport struct {
	Lab      string         `json:"lab"`
	Backend  string         `json:"backend"`
	Archiver string         `json:"archiver"`
	Runs     []RepeatRun    `json:"runs"`
	Verdicts map[string]int `json:"verdicts"`
	Steps    []StepStats    `json:"steps"`
	Expect   string         `json:"expect,omitempty"`
	From     string         `json:"from,omitempty"` // run --from: the step the runs restored a checkpoint before
	Matched  int            `json:"matched,omitempty"`
}

// RepeatOptions say how Repeat runs the playbook.
type RepeatOptions struct {
	N      int    // how many runs
	Expect string // --expect: the verdict counted in Matched
	// From, when set, is the step the runs restore a checkpoint before;
	// Before sets the session up for each run (said on progress).
	From   string
	Before func(progress io.Writer)
}

// Repeat runs the playbook o.N times, each on a freshly reset lab, and
// reports how often each verdict came out with step timing statistics;
// failed says a step failed in some run.
func Repeat(ctx context.Context, s *Session, o RepeatOptions, progress io.Writer) (rr RepeatReport, failed bool, err error) {
	rr = RepeatReport{Lab: s.Lab.Dir, Backend: s.Backend.Name(), Archiver: s.Archiver.Name(), Verdicts: map[string]int{}, Expect: o.Expect, From: o.From}
	timings := map[string][]float64{}
	for i := 1; i <= o.N && ctx.Err() == nil; i++ {
		fmt.Fprintf(progress, "== run %d/%d\n", i, o.N)
		if o.Before != nil {
			o.Before(progress)
		}
		begin := time.Now()
		res := RunPlaybook(ctx, s, io.Discard, false)
		if s.From > 0 && res.Restored == "" {
			return rr, failed, fmt.Errorf("run %d from step %s: %s", i, s.Steps[s.From].ID, res.NotRestored)
		}
		for _, n := range res.Notes {
			fmt.Fprintf(progress, "walstep: %s\n", n)
		}
		rep := BuildReport(ctx, s, res)
		run := RepeatRun{Run: i, Verdict: Verdict(rep), Seconds: time.Since(begin).Seconds()}
		if res.Failed >= 0 && run.Verdict != VerdictInterrupted {
			// A failed step's verdict is not trustworthy: counted as
			// failed, as explore counts it, the diagnosis kept aside.
			run.Diagnosis, run.Verdict = run.Verdict, explore.VerdictFailed
			run.FailedStep = s.Steps[res.Failed].ID
			if err := res.Snap.States[res.Failed].Err; err != nil {
				run.Error = err.Error()
			}
			failed = true
		}
		for j, st := range res.Snap.States {
			if st.Status == steps.Restored {
				continue // not run: restored from the checkpoint
			}
			timings[s.Steps[j].ID] = append(timings[s.Steps[j].ID], st.Duration.Seconds())
		}
		rr.Runs = append(rr.Runs, run)
		if run.Verdict == VerdictInterrupted {
			// Stopped midway: not an outcome to count.
			fmt.Fprintf(progress, "run %d/%d: interrupted after %.1fs\n", i, o.N, run.Seconds)
			break
		}
		rr.Verdicts[run.Verdict]++
		if o.Expect != "" && run.Verdict == o.Expect {
			rr.Matched++
		}
		line := fmt.Sprintf("run %d/%d: %s in %.1fs", i, o.N, run.Verdict, run.Seconds)
		line += FailedNote(run.FailedStep, run.Error)
		fmt.Fprintln(progress, line)
	}
	for _, st := range s.Steps {
		v := timings[st.ID]
		if len(v) == 0 {
			continue
		}
		sort.Float64s(v)
		rr.Steps = append(rr.Steps, StepStats{ID: st.ID, Title: st.Title, Median: median(v), Min: v[0], Max: v[len(v)-1]})
	}
	return rr, failed, nil
}

// FailedNote says which step failed and why, for a run's progress line
// (run --repeat and explore say it alike).
func FailedNote(step, err string) string {
	note := ""
	if step != "" {
		note += " (step " + step + " failed)"
	}
	if err != "" {
		note += ": " + err
	}
	return note
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// WriteRepeatText prints a repeat report for people.
func WriteRepeatText(w io.Writer, rr RepeatReport) {
	// A run stopped midway is not an outcome: it is named, not counted.
	counted := len(rr.Runs)
	interrupted := ""
	if n := len(rr.Runs); n > 0 && rr.Runs[n-1].Verdict == VerdictInterrupted {
		counted--
		interrupted = fmt.Sprintf("; run %d was interrupted and is not counted", rr.Runs[n-1].Run)
	}
	from := ""
	if rr.From != "" {
		from = ", from the checkpoint before step " + rr.From
	}
	fmt.Fprintf(w, "\n== Repeat: %d runs on %s (backend %s, archiver %s%s)%s\n", counted, rr.Lab, rr.Backend, rr.Archiver, from, interrupted)
	var keys []string
	for k := range rr.Verdicts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d/%d", k, rr.Verdicts[k], counted))
	}
	fmt.Fprintf(w, "verdicts: %s\n", strings.Join(parts, ", "))
	if rr.Expect != "" {
		fmt.Fprintf(w, "expected %s: %d of %d runs\n", rr.Expect, rr.Matched, counted)
	}
	fmt.Fprintln(w, "\nstep timings: median (min–max)")
	sec := func(f float64) string {
		return time.Duration(f * float64(time.Second)).Round(time.Millisecond).String()
	}
	// Columns as wide as their longest cell, so a long title or a hook's
	// ID does not push its row's numbers out of line.
	idW, titleW, medW := 0, 0, 0
	for _, st := range rr.Steps {
		idW = max(idW, utf8.RuneCountInString(st.ID))
		titleW = max(titleW, utf8.RuneCountInString(st.Title))
		medW = max(medW, len(sec(st.Median)))
	}
	pad := func(s string, w int) string { return s + strings.Repeat(" ", max(w-utf8.RuneCountInString(s), 0)) }
	for _, st := range rr.Steps {
		fmt.Fprintf(w, "  %s %s %*s (%s–%s)\n", pad(st.ID, idW), pad(st.Title, titleW), medW, sec(st.Median), sec(st.Min), sec(st.Max))
	}
}
