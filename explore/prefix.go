package explore

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"walstep/checkpoint"
	"walstep/cluster"
	"walstep/playbook"
	"walstep/steps"
)

// shareable are the lab files a shared prefix may read: the runs of a
// column that agree on them (and on the prefix's hooks) start from one
// copy of the prefix's end state.
func shareable(f string) bool { return f == cluster.WalgJSON }

// shareUntil is the first step that may differ between variants, read
// from the playbook: the steps before it read only shareable files and no
// server runs at their end. "" when no step can be shared.
func shareUntil(doc *playbook.Doc) string { return stepAt(doc, doc.SharedPrefix(shareable)) }

// prefixLen is how many first steps the plan's runs share: those before
// --from's step (the nearest with no server running before it; variants
// that differ in a file those steps read get prefixes of their own), else
// those before the first that reads a file variants change.
func (p Plan) prefixLen(doc *playbook.Doc) int {
	if p.From != "" {
		return doc.PrefixBefore(p.From)
	}
	return doc.SharedPrefix(shareable)
}

// stepAt is the ID of the step a prefix of n steps ends before, "" when
// n shares nothing (or everything).
func stepAt(doc *playbook.Doc, n int) string {
	if n <= 0 || n >= len(doc.Steps) {
		return ""
	}
	return doc.Steps[n].ID
}

// prefixSteps are the playbook's steps before shareUntil.
func prefixSteps(doc *playbook.Doc) []playbook.Step {
	return doc.Steps[:doc.SharedPrefix(shareable)]
}

// prefixRange is the shared steps as the matrix names them: "0–7".
func prefixRange(doc *playbook.Doc) string { return rangeOf(doc.Steps[:doc.SharedPrefix(shareable)]) }

func rangeOf(ps []playbook.Step) string {
	if len(ps) == 0 {
		return ""
	}
	return ps[0].ID + "–" + ps[len(ps)-1].ID
}

// prefixKey identifies the shared state a variant's runs start from in a
// column: the prefix's steps as the playbook writes them, the effective
// wal-g.json and the hooks that run in the prefix. Variants that agree on
// them share one prefix; a variant with a playbook of its own shares none
// ("").
func prefixKey(base *cluster.Lab, v Variant, c Column, prefix []playbook.Step) string {
	for _, f := range v.Files {
		if f == cluster.PlaybookFile {
			return ""
		}
	}
	effective := func(rel string) []byte {
		for _, f := range v.Files {
			if f == rel {
				b, _ := base.ReadFile(VariantsDir + "/" + v.Name + "/" + rel)
				return b
			}
		}
		b, _ := base.ReadFile(rel)
		return b
	}
	names := map[string]bool{}
	if ents, err := os.ReadDir(base.Path(cluster.HooksDir)); err == nil {
		for _, e := range ents {
			names[cluster.HooksDir+"/"+e.Name()] = true
		}
	}
	for _, f := range v.Files {
		if strings.HasPrefix(f, cluster.HooksDir+"/") {
			names[f] = true
		}
	}
	var hooks []string
	for n := range names {
		hooks = append(hooks, n)
	}
	deps := checkpoint.PrefixDeps(c.slug(), prefix, hooks)
	return checkpoint.Key(deps.Parts(effective))
}

// verifyPrefix checks, through the backend that ran it, that a finished
// prefix left what the rest of the playbook needs: each data dir it made
// (restored from a backup, with the backup in the storage, or made by
// initdb).
func verifyPrefix(ctx context.Context, b cluster.Backend, doc *playbook.Doc, n int) error {
	fetched := false
	for node, how := range doc.DataDirsAfter(n) {
		d, file := dataDirName(node), "PG_VERSION"
		if how == "backup fetch" {
			file, fetched = "backup_label", true
		}
		if err := hasFile(ctx, b, cluster.Node(node), file); err != nil {
			return fmt.Errorf("verify shared prefix: %s has no %s: %w", d, file, err)
		}
	}
	if !fetched {
		return nil
	}
	ents, err := b.ReadDir(ctx, cluster.Primary, cluster.AreaStorage, cluster.BackupsDir)
	if err != nil || len(ents) == 0 {
		return fmt.Errorf("verify shared prefix: no backup in %s/%s", cluster.StorageDir, cluster.BackupsDir)
	}
	return nil
}

// hasFile says whether node's data dir holds an entry name (a link
// counts, not followed), with the reason when it does not.
func hasFile(ctx context.Context, b cluster.Backend, node cluster.Node, name string) error {
	ents, err := b.ReadDir(ctx, node, cluster.AreaData, "")
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Name == name {
			return nil
		}
	}
	return &fs.PathError{Op: "stat", Path: name, Err: syscall.ENOENT}
}

// dataDirName is node's data dir in the lab.
func dataDirName(node string) string { return cluster.DataDirName(cluster.Node(node)) }

// clonePrefix returns the step that puts a verified prefix's state into a
// run's lab: the checkpoint the prefix kept of its lab (a prefix lab
// without one, as a test makes by hand, as it stands) copied as
// checkpoints copy (owners, modes and links kept; the archive copied too:
// a run's hook may change an archive file in place, which must not reach
// the other runs), the Env the prefix's steps left put back, then the
// lab-specific parts made for the run's own lab and backend.
func clonePrefix(src *cluster.Lab) func(ctx context.Context, env *steps.Env) error {
	return func(ctx context.Context, env *steps.Env) error {
		for _, name := range env.Lab.GeneratedNames() {
			if err := env.Lab.CheckRemovable(env.Lab.Path(name)); err != nil {
				return err
			}
		}
		from := src.Dir
		kept := (&checkpoint.Store{Lab: src}).List()
		if len(kept) > 0 {
			m := kept[len(kept)-1]
			from = src.Path(cluster.CheckpointsDir, m.Name)
			env.SetState(m.Env)
		}
		if err := cluster.CopyGenerated(ctx, from, env.Lab.Dir, false); err != nil {
			return fmt.Errorf("copy shared prefix: %w", err)
		}
		return relocate(ctx, env, src.Dir)
	}
}

// relocate makes a copied prefix belong to env's lab: the archive_command
// the backup carries names the prefix lab's storage on the local backend,
// a line a later step wrote into postgresql.conf may name the prefix lab
// (the seed's restore_command, step 10), and run/wal-g.json holds the
// prefix's ports. What else a copy carries of the lab it came from is the
// backend's to rewrite (its config links, the network in pg_hba.conf),
// through its one way of writing the servers' files. The copy itself
// (cluster.CopyGenerated) follows no link and reads no FIFO or device: a
// link the server user planted is copied as a link, and the readers refuse
// it in the run as they do in any lab.
func relocate(ctx context.Context, env *steps.Env, from string) error {
	line := "archive_command = " + steps.ConfString(env.Archiver.ArchiveCommand(env.Backend.Paths(env.Lab.Topology().Primary())))
	ours := func(l string) (string, bool) {
		if strings.HasPrefix(l, "archive_command = ") {
			return line, true
		}
		if from != env.Lab.Dir && strings.Contains(l, from+"/") {
			return strings.ReplaceAll(l, from+"/", env.Lab.Dir+"/"), true
		}
		return l, false
	}
	for _, n := range env.Lab.KnownNodes() {
		d := cluster.DataDirName(n)
		if _, err := os.Lstat(env.Lab.Path(d)); os.IsNotExist(err) {
			continue // the prefix made no such data dir
		}
		if err := cluster.ReplaceLines(env.Lab.Dir, d, "postgresql.conf", ours); err != nil {
			return fmt.Errorf("relocate prefix: %w", err)
		}
	}
	if a, ok := env.Backend.(adopter); ok {
		if err := a.AdoptCopiedData(ctx); err != nil {
			return err
		}
	}
	return env.Archiver.Prepare(env.Lab, env.Backend)
}

// adopter is a backend whose data dirs carry backend-specific state that a
// copy from another lab's run must have rewritten (local: the config
// links; Docker: the network gateway in pg_hba.conf).
type adopter interface {
	AdoptCopiedData(ctx context.Context) error
}
