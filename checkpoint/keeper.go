package checkpoint

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"walstep/cluster"
	"walstep/pg"
	"walstep/playbook"
	"walstep/steps"
)

// Keeper is a steps.Checkpointer over a lab's Store: it keeps a checkpoint
// after a done step at whose end no server of the lab runs, and restores
// the nearest one that still holds.
type Keeper struct {
	Store *Store
	Env   *steps.Env
	Doc   func() *playbook.Doc // the playbook as it stands now
	// Want says whether to keep a checkpoint before step i (nil: before
	// every step where one can be kept).
	Want func(all []steps.Step, i int) bool

	readings []pg.Snapshot // the end readings of the steps of this pass
}

// NewKeeper is a Keeper for env's lab with the default limits.
func NewKeeper(env *steps.Env, doc func() *playbook.Doc) *Keeper {
	remove := func(p string) error { return env.Backend.RemoveAll(context.Background(), p) }
	copier, _ := env.Backend.(cluster.LabCopier)
	return &Keeper{Store: &Store{Lab: env.Lab, Remove: remove, Copier: copier}, Env: env, Doc: doc}
}

// salt is what a checkpoint depends on besides the rule's files: the
// backend and archiver that made it.
func (k *Keeper) salt() string {
	return k.Env.Backend.Name() + "\x00" + k.Env.Archiver.Name()
}

// Parts are the dependency rule's hashes for the state before step i of
// all: the playbook's text of the steps before it, the files they read,
// wal-g.json and the hooks among them, read as the lab holds them now.
func (k *Keeper) Parts(all []steps.Step, i int) map[string]string {
	doc := k.Doc()
	byID := map[string]playbook.Step{}
	for _, st := range doc.Steps {
		byID[st.ID] = st
	}
	var prefix []playbook.Step
	var hooks []string
	for _, st := range all[:i] {
		if st.Hook != "" {
			hooks = append(hooks, cluster.HooksDir+"/"+filepath.Base(st.Hook))
			continue
		}
		if ps, ok := byID[st.ID]; ok {
			prefix = append(prefix, ps)
		}
	}
	read := func(rel string) []byte {
		b, err := k.Env.Lab.ReadFile(rel)
		if err != nil {
			return nil
		}
		return b
	}
	return PrefixDeps(k.salt(), prefix, hooks).Parts(read)
}

func keys(all []steps.Step) []string {
	out := make([]string, len(all))
	for i, st := range all {
		out[i] = steps.StepKey(st)
	}
	return out
}

// quiet reports whether no server of the lab runs now.
func (k *Keeper) quiet(ctx context.Context) bool {
	for _, n := range k.Env.Lab.Topology().StopOrder() {
		st, err := k.Env.Backend.State(ctx, n)
		if err != nil || st.Running {
			return false
		}
	}
	return true
}

// After implements steps.Checkpointer.
func (k *Keeper) After(ctx context.Context, all []steps.Step, i int, reading *pg.Snapshot) string {
	if all[i].Resets {
		k.readings = nil
	}
	if reading != nil {
		k.readings = append(k.readings, *reading)
	}
	if all[i].Resets {
		k.dropStale(all)
	}
	next := i + 1
	if next >= len(all) || (k.Want != nil && !k.Want(all, next)) || !k.quiet(ctx) {
		return ""
	}
	return k.take(ctx, all, next)
}

// take keeps a checkpoint before step next and says so.
func (k *Keeper) take(ctx context.Context, all []steps.Step, next int) string {
	parts := k.Parts(all, next)
	m := Meta{Before: steps.StepKey(all[next]), Index: next, Done: keys(all[:next]), Parts: parts, Key: Key(parts), Env: k.Env.State(), Readings: slices.Clone(k.readings)}
	m, err := k.Store.Take(ctx, m)
	if err != nil {
		return "no checkpoint kept: " + err.Error()
	}
	return fmt.Sprintf("checkpoint kept before step %s (%s in %s)", all[next].ID, m.size(), m.Took.Round(time.Millisecond))
}

// KeepBefore keeps a checkpoint before step i of all when none that holds
// is there (a session quitting to be resumed at i), and says what it did:
// only where the playbook and the servers leave no server running before
// i; elsewhere a resume restores an earlier one and runs the steps between.
func (k *Keeper) KeepBefore(ctx context.Context, all []steps.Step, i int) string {
	if i <= 0 || i >= len(all) {
		return ""
	}
	if _, at, _ := k.Nearest(all, i); at == i {
		return fmt.Sprintf("a checkpoint before step %s is kept already", all[i].ID)
	}
	if !QuietBefore(k.Doc(), all)[i] || !k.quiet(ctx) {
		return fmt.Sprintf("no checkpoint kept before step %s: servers run there, so --resume restores an earlier one and runs the steps between", all[i].ID)
	}
	return k.take(ctx, all, i)
}

// dropStale removes the checkpoints whose dependencies changed: a new pass
// with an edited conf, hook or step makes them wrong for it.
func (k *Keeper) dropStale(all []steps.Step) {
	for _, m := range k.Store.List() {
		if _, why := k.usable(all, m); why != "" {
			_ = k.Store.Drop(m)
		}
	}
}

// usable finds m's step in all and says why m cannot stand for the steps
// before it ("" when it can).
func (k *Keeper) usable(all []steps.Step, m Meta) (int, string) {
	at := slices.Index(keys(all), m.Before)
	if at < 0 || !slices.Equal(keys(all[:at]), m.Done) {
		return at, "the playbook's steps before it changed"
	}
	if why := Changed(m.Parts, k.Parts(all, at)); why != "" {
		return at, why
	}
	return at, ""
}

// Nearest is the checkpoint to restore for step i: the one nearest before
// it that still holds, and why nearer ones did not (they are dropped).
func (k *Keeper) Nearest(all []steps.Step, i int) (Meta, int, []string) {
	best, bestAt := Meta{}, -1
	var notes []string
	for _, m := range k.Store.List() {
		at, why := k.usable(all, m)
		if at < 0 || at > i {
			continue
		}
		if why != "" {
			notes = append(notes, fmt.Sprintf("checkpoint before step %s not used: %s", all[at].ID, why))
			_ = k.Store.Drop(m)
			continue
		}
		if at > bestAt {
			best, bestAt = m, at
		}
	}
	return best, bestAt, notes
}

// Restore implements steps.Checkpointer.
func (k *Keeper) Restore(ctx context.Context, all []steps.Step, i int) (int, []pg.Snapshot, string, error) {
	begin := time.Now()
	m, at, notes := k.Nearest(all, i)
	why := ""
	if len(notes) > 0 {
		why = notes[len(notes)-1] + "; "
	}
	if at < 0 {
		return -1, nil, why + "no checkpoint at or before step " + all[i].ID + ": the steps run from where they are", nil
	}
	for _, n := range k.Env.Lab.Topology().StopOrder() {
		if err := k.Env.Backend.Stop(ctx, n, discard{}); err != nil {
			return -1, nil, "", fmt.Errorf("stop %s before restoring: %w", n, err)
		}
	}
	stopped := time.Since(begin)
	how, err := k.Store.Restore(ctx, m)
	if err != nil {
		return -1, nil, "", err
	}
	k.Env.SetState(m.Env)
	k.readings = slices.Clone(m.Readings)
	line := fmt.Sprintf("%srestored the checkpoint before step %s (steps %s–%s, %s; %s) in %s (stopping the servers %s)", why, all[at].ID, all[0].ID, all[at-1].ID, m.size(), how, time.Since(begin).Round(time.Millisecond), stopped.Round(time.Millisecond))
	if at < i {
		line += fmt.Sprintf("; running steps %s–%s", all[at].ID, all[i-1].ID)
	}
	return at, slices.Clone(m.Readings), line, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// size is what the checkpoint holds, for messages.
func (m Meta) size() string {
	if m.Unread > 0 {
		return "size unknown: the servers' dirs are not walstep's to read"
	}
	return sizeOf(m.Bytes)
}

func sizeOf(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	default:
		return fmt.Sprintf("%d KiB", b>>10)
	}
}
