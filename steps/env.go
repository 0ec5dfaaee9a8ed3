package steps

import (
	"context"
	"sync"
	"time"

	"walstep/cluster"
	"walstep/pg"
)

// Timeouts bound what a step waits for.
type Timeouts struct {
	// Wait, when set (--wait), replaces the deadline every wait of the
	// playbook writes.
	Wait time.Duration
	Hook time.Duration // a hook runs; 0 means DefaultHookTimeout
}

// Env is what the playbook's actions run against.
type Env struct {
	Lab      *cluster.Lab
	Backend  cluster.Backend
	Archiver cluster.Archiver
	Timeouts Timeouts

	mu      sync.Mutex
	madeDir map[string]bool // step ID and node: its last run found the data dir absent or empty
	// laterHooks names, per playbook step, the hooks that run after it
	// (after it or after any later step): what may still move a state on
	// that no playbook step resolves, such as a paused primary.
	laterHooks map[string][]string
	backup     string       // the name the last backup find found
	lister     cluster.Node // where it was found
	// proof is the last marker row written in this pass and the looks
	// for it: what the diagnosis's proof from the data reads.
	proof pg.ProofInput
}

// LaterHooks lists the hooks that run after step id, in run order.
func (e *Env) LaterHooks(id string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.laterHooks[id]
}

func (e *Env) remover(ctx context.Context) func(string) error {
	return func(p string) error { return e.Backend.RemoveAll(ctx, p) }
}
