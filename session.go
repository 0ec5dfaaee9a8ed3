package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"walstep/cluster"
	"walstep/headless"
	"walstep/pg"
	"walstep/playbook"
	"walstep/steps"
)

// openSession builds a session from the flags and checks that the chosen
// backend can work, with a one-line error when it cannot.
func openSession(ctx context.Context, o options) (*headless.Session, error) {
	oo := cluster.OpenOptions{
		Backend: o.backend, Archiver: o.archiver, WalG: o.walg, PGBin: o.pgBin,
		Image: o.image, InitImage: o.initImage, Prefix: o.prefix,
		StopNotes: o.stopNotes,
	}
	if err := oo.CheckChoice(); err != nil {
		return nil, usageErrorf(2, "%v", err)
	}
	_, statErr := os.Stat(o.lab)
	fresh := errors.Is(statErr, fs.ErrNotExist)
	// A --playbook that does not parse stops here, before the lab is made
	// or touched.
	var doc *playbook.Doc
	docFile := ""
	if o.playbook != "" {
		d, file, err := loadPlaybook(o.playbook)
		if err != nil {
			return nil, err
		}
		doc, docFile = d, file
	}
	lab, err := cluster.OpenOrInitLab(o.lab)
	if err != nil {
		return nil, err
	}
	if fresh && doc == nil {
		if _, err := writeLabPlaybook(lab, mustSeedSource()); err != nil {
			return nil, err
		}
	}
	if doc == nil {
		if doc, docFile, err = labPlaybook(lab); err != nil {
			return nil, err
		}
	}
	// One session per lab: two would delete each other's data dirs and
	// stop each other's servers.
	lock, err := lab.Lock(strings.Join(os.Args[1:], " "))
	if err != nil {
		return nil, err
	}
	opened := false
	defer func() {
		if !opened {
			_ = lock.Release()
			if fresh {
				// A lab made for a session that could not open (no
				// Docker engine, say) is not left behind.
				_ = os.RemoveAll(lab.Dir)
			}
		}
	}()
	// The lab's own files go where the server user reads them: a link
	// among them that leaves the lab stops the session here.
	if err := lab.CheckOwnFiles(); err != nil {
		return nil, err
	}
	// The backends run the playbook's nodes.
	oo.Topology = doc.Topology()
	b, arc, why, err := cluster.Open(ctx, lab, oo)
	if err != nil {
		return nil, err
	}
	s := &headless.Session{Lab: lab, Backend: b, Archiver: arc, Why: why, Lock: lock, Doc: doc, DocFile: docFile}
	to := steps.Timeouts{Hook: o.hookTO}
	if o.waitSet {
		to.Wait = o.stepTO
	}
	s.Env = &steps.Env{Lab: lab, Backend: s.Backend, Archiver: arc, Timeouts: to}
	s.Steps = s.Bind(s.Doc)
	hooks, warnings, err := steps.FindHooks(lab, s.Steps)
	if err != nil {
		_ = s.Backend.Close(ctx, false)
		return nil, err
	}
	s.Steps = s.WithHooks(hooks)
	for _, h := range hooks {
		s.Why = append(s.Why, fmt.Sprintf("hook %s runs after step %s", filepath.Base(h.Path), h.After))
	}
	s.Why = append(s.Why, warnings...)
	s.Poller = pg.NewPoller(s.Backend, pg.PollerOptions{Topology: lab.Topology()})
	s.Poll, s.Stall = s.Poller.Poll, o.stall
	opened = true
	return s, nil
}

// reportStopErr prints a failure to stop the servers as one line that says
// what to do.
func reportStopErr(w io.Writer, err error, lab string) {
	switch {
	case err == nil:
	case errors.Is(err, cluster.ErrDockerUnavailable):
		fmt.Fprintf(w, "walstep: could not stop the containers: the docker engine is not reachable; once it is back, run: %s clean --lab %s\n", selfCmd(), cluster.ShellQuote(lab))
	default:
		fmt.Fprintf(w, "walstep: stop servers: %s (run: %s clean --lab %s)\n", strings.ReplaceAll(err.Error(), "\n", "; "), selfCmd(), cluster.ShellQuote(lab))
	}
}
