package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"walstep/checkpoint"
	"walstep/explore"
	"walstep/headless"
	"walstep/outfile"
	"walstep/playbook"
	"walstep/steps"
	"walstep/transcript"
)

// checkExploreFrom refuses an explore --from that cannot start there.
func checkExploreFrom(o exploreOptions, doc *playbook.Doc, share bool) error {
	if o.noShare {
		return usageErrorf(2, "--from %s: the runs start from a kept prefix, which --no-share turns off", o.from)
	}
	if !share {
		return usageErrorf(2, "--from %s: the runs cannot share a kept prefix here (the copies keep the servers' owners, which takes root on this host)", o.from)
	}
	found := false
	for _, st := range doc.Steps {
		found = found || st.ID == o.from
	}
	if !found {
		return usageErrorf(2, "--from %s: the playbook has no such step", o.from)
	}
	if doc.PrefixBefore(o.from) == 0 {
		return usageErrorf(2, "--from %s: a server runs before every step up to it, so no checkpoint can be kept before it", o.from)
	}
	return nil
}

// exploreExec runs one explore job as `walstep run` would: a session on the
// job's lab, its steps between From and Until, a transcript and a JSON
// report, the servers stopped.
func exploreExec(o exploreOptions) explore.Executor {
	return func(ctx context.Context, j explore.Job) (explore.Outcome, error) {
		so := options{lab: j.Lab.Dir, backend: j.Backend, archiver: j.Column.Archiver, stepTO: o.stepTO, waitSet: o.waitSet, prefix: j.Name, playbook: o.playbook}
		srv := j.Servers()
		so.image, so.initImage, so.pgBin, so.walg = srv.Image, srv.InitImage, srv.PGBin, srv.WalG
		s, err := openSession(ctx, so)
		if err != nil {
			return explore.Outcome{}, err
		}
		from, until := 0, len(s.Steps)
		for i, st := range s.Steps {
			if st.ID == j.From {
				from = i
			}
			if st.ID == j.Until {
				until = i
			}
		}
		full := s.Steps
		s.Steps = s.Steps[from:until]
		notes := append(s.Why, j.Notes...)
		tr, err := transcript.Create(j.Transcript, transcript.Header{Lab: s.Lab.Dir, Backend: s.Backend.Name(), Archiver: s.Archiver.Name(), Notes: notes, Started: time.Now()})
		if err != nil {
			_ = s.Close(true)
			return explore.Outcome{}, err
		}
		defer tr.Close()
		if j.Prepare != nil {
			if err := j.Prepare(ctx, s.Env); err != nil {
				_ = s.Close(true)
				return explore.Outcome{}, err
			}
		}
		res := headless.RunPlaybook(ctx, s, io.Discard, false, tr)
		var checkErr error
		if j.Check != nil && res.Failed < 0 && ctx.Err() == nil {
			checkErr = j.Check(ctx, s.Env) // while the backend is open
		}
		if j.Keep && checkErr == nil && res.Failed < 0 && ctx.Err() == nil {
			checkErr = keepPrefix(ctx, s, full, until)
		}
		rep := headless.BuildReport(ctx, s, res)
		if j.Until == "" {
			_ = headless.FinishTranscript(tr, rep)
		}
		stopErr := s.Close(true)
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := outfile.WriteFile(j.Report, append(b, '\n'), true); err != nil {
			return explore.Outcome{}, fmt.Errorf("write run report: %w", err)
		}
		if stopErr != nil {
			return explore.Outcome{}, fmt.Errorf("stop servers: %w", stopErr)
		}
		if checkErr != nil {
			return explore.Outcome{}, checkErr
		}
		out := explore.Outcome{Verdict: headless.Verdict(rep)}
		if res.Failed >= 0 {
			out.FailedStep = s.Steps[res.Failed].ID
			if err := res.Snap.States[res.Failed].Err; err != nil {
				out.StepError = err.Error()
			}
		}
		return out, nil
	}
}

// keepPrefix keeps the checkpoint a shared prefix's runs start from: its
// lab before step until of all, with the Env its steps left.
func keepPrefix(ctx context.Context, s *headless.Session, all []steps.Step, until int) error {
	for _, n := range s.Lab.Topology().StopOrder() {
		if err := s.Backend.Stop(ctx, n, io.Discard); err != nil {
			return fmt.Errorf("keep the shared prefix: stop %s: %w", n, err)
		}
	}
	k := checkpoint.NewKeeper(s.Env, func() *playbook.Doc { return s.Doc })
	line := k.KeepBefore(ctx, all, until)
	if !strings.HasPrefix(line, "checkpoint kept") {
		return fmt.Errorf("keep the shared prefix: %s", line)
	}
	return nil
}
