package steps

import (
	"maps"
	"slices"

	"walstep/cluster"
	"walstep/pg"
)

// EnvState is what a step leaves on the Env for later steps to read: the
// backup a backup find found (and where), and which data dirs the steps
// that make them found absent. A checkpoint keeps it with the lab's files,
// so steps run after a restore read what they would have read.
type EnvState struct {
	Backup  string          `json:"backup,omitempty"`
	Lister  cluster.Node    `json:"lister,omitempty"`
	MadeDir map[string]bool `json:"made_dir,omitempty"`
	// Proof is the marker written so far in this pass and the looks for
	// it (see Env.ProofInput).
	Proof *pg.ProofInput `json:"proof,omitempty"`
}

// State returns a copy of what the steps so far left on e.
func (e *Env) State() EnvState {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := EnvState{Backup: e.backup, Lister: e.lister, MadeDir: maps.Clone(e.madeDir)}
	if e.proof.Write != nil {
		p := e.proof
		p.Checks = slices.Clone(p.Checks)
		st.Proof = &p
	}
	return st
}

// SetState puts back what State returned (a checkpoint restored).
func (e *Env) SetState(s EnvState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.backup, e.lister, e.madeDir = s.Backup, s.Lister, maps.Clone(s.MadeDir)
	e.proof = pg.ProofInput{}
	if s.Proof != nil {
		e.proof = *s.Proof
		e.proof.Checks = slices.Clone(s.Proof.Checks)
	}
}

func (e *Env) setBackup(name string, where cluster.Node) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.backup, e.lister = name, where
}

// foundBackup is the backup the last backup find found and where, "" for
// none.
func (e *Env) foundBackup() (string, cluster.Node) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.backup, e.lister
}
