package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"walstep/cluster"
	"walstep/cluster/proctest"
	"walstep/steps"
)

// liveProcsUnder lists the live processes this test's runs started whose
// command line names dir.
func liveProcsUnder(dir string) []string { return proctest.Strings(proctest.Mine(dir)) }

// Cancelling initdb (step 1) on the local backend: the step is cancelled,
// not failed; no process of it is left when the Runner reports it; and a
// retry succeeds, starting from an empty data dir (the half-made one is
// removed through the lab guard), then the primary starts on it.
func TestE2ELocalCancelThenRetryInitdb(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	dir := reachableTempDir(t)
	lab := filepath.Join(dir, "lab")
	cancelThenRetryInitdb(t, options{lab: lab, backend: "local", archiver: "cp"}, func(pgdata string) []string {
		return liveProcsUnder(pgdata)
	})
}

// The same on Docker: initdb runs in a task container, which is gone when
// the step is reported cancelled.
func TestE2EDockerCancelThenRetryInitdb(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	lab, flags := dockerLab(t, img)
	prefix := flags[len(flags)-1]
	cancelThenRetryInitdb(t, options{lab: lab, backend: "docker", archiver: "cp", image: img, initImage: img, prefix: prefix}, func(string) []string {
		var running []string
		cs, _ := dockerLeft(t, lab)
		for _, c := range cs {
			if strings.Contains(c, "(running)") {
				running = append(running, c)
			}
		}
		return running
	})
}

// cancelThenRetryInitdb runs step 0, cancels step 1 once initdb has
// written into the data dir, checks the step is cancelled with left()
// empty when the Runner reports it, retries it to done and runs steps 2
// and 3 on the result.
func cancelThenRetryInitdb(t *testing.T, o options, left func(pgdata string) []string) {
	ctx := t.Context()
	s, err := openSession(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(true)
	r := steps.NewRunner(s.Steps)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(rctx) }()
	defer func() { cancel(); <-done }()

	deadline := time.After(120 * time.Second)
	// wait reads events until match, failing on the deadline.
	wait := func(what string, match func(steps.Event) bool) steps.Event {
		t.Helper()
		for {
			select {
			case e := <-r.Events():
				if match(e) {
					return e
				}
			case <-deadline:
				t.Fatalf("%s: no event in time", what)
			}
		}
	}
	idle := func(what string) steps.Event {
		return wait(what, func(e steps.Event) bool { return e.Kind == steps.Idle })
	}
	r.Next()
	if e := idle("step 0"); e.Reason != steps.ReasonStep {
		t.Fatalf("step 0: %+v", e)
	}
	pgdata := s.Lab.Path(cluster.PrimaryData)
	r.Next()
	// Cancel once initdb has begun writing the data dir.
	wait("initdb writes", func(e steps.Event) bool {
		if e.Kind != steps.StepOutput {
			return false
		}
		_, err := os.Stat(filepath.Join(pgdata, "PG_VERSION"))
		return err == nil || strings.Contains(e.Line, "creating")
	})
	r.Cancel()
	fin := wait("step 1 ends", func(e steps.Event) bool { return e.Kind == steps.StepFinished })
	if fin.Status != steps.Cancelled || fin.Err != nil {
		t.Fatalf("cancelled initdb ended %s (%v), want cancelled with no error", fin.Status, fin.Err)
	}
	if l := left(pgdata); len(l) > 0 {
		t.Fatalf("processes of the cancelled initdb still run when the step is reported:\n%s", strings.Join(l, "\n"))
	}
	if e := idle("after cancel"); e.Reason != steps.ReasonCancelled || e.Cursor != 1 {
		t.Fatalf("idle after cancel: %+v", e)
	}
	r.Retry(1)
	fin = wait("retry ends", func(e steps.Event) bool { return e.Kind == steps.StepFinished })
	out := strings.Join(r.Snapshot().States[1].Output, "\n")
	if fin.Status != steps.Done {
		t.Fatalf("retry of initdb ended %s: %v\n%s", fin.Status, fin.Err, out)
	}
	if !strings.Contains(out, "removed "+pgdata) {
		t.Errorf("the retry does not say it removed what the cancelled run left:\n%s", out)
	}
	// The data dir is whole: steps 2 and 3 start the primary on it.
	idle("after retry")
	r.Continue()
	for {
		e := wait("steps 2, 3", func(e steps.Event) bool { return e.Kind == steps.StepFinished })
		if e.Status != steps.Done {
			t.Fatalf("step %s after the retry: %s %v", s.Steps[e.Index].ID, e.Status, e.Err)
		}
		if s.Steps[e.Index].ID == "3" {
			break
		}
	}
	r.Pause()
}
