package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"walstep/cluster"
)

// Restore puts checkpoint m's copies back as the lab's generated state
// and says how. When the lab was last made m (a take or a restore of it,
// recorded), only what changed since is copied back; else the spare copy
// is moved in, or, with none, the lab's dirs are replaced by a copy. No
// server may run on the lab's dirs (the caller stops them).
func (s *Store) Restore(ctx context.Context, m Meta) (string, error) {
	s.bg.Wait()
	src := filepath.Join(s.dir(), m.Name)
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("restore the checkpoint before step %s: %w", m.Before, err)
	}
	if err := checkLinked(src, m.Linked); err != nil {
		return fail(err)
	}
	for _, name := range s.Lab.GeneratedNames() {
		if err := s.Lab.CheckRemovable(s.Lab.Path(name)); err != nil {
			return fail(err)
		}
	}
	was, known := s.loadLab(m.Name)
	s.forgetLab()
	// What leaves the lab is moved aside (a rename each) and removed after.
	trash := filepath.Join(s.dir(), fmt.Sprintf(".trash-%d", time.Now().UnixNano()))
	if err := s.Lab.MkdirAll(trash, 0o700, -1, -1); err != nil {
		return fail(err)
	}
	if known {
		now, st, err := s.syncLab(src, trash, was)
		if err == nil {
			_ = s.saveLab(m.Name, now) // without it the next restore copies all
			s.after(func() { _ = s.remove(trash) })
			return st.String(), nil
		}
		// Part restored: the whole copy below puts the rest right.
		if _, err := s.replaceAll(ctx, src, trash); err != nil {
			return fail(err)
		}
		return "copied whole after: " + err.Error(), nil
	}
	if !hostRoot() {
		// The servers' dirs cannot be moved aside: the backend removes
		// and copies them.
		_ = s.remove(trash)
		if s.Copier == nil {
			return fail(errors.New("keeping the servers' owners needs root on this host"))
		}
		if err := s.Copier.CopyGenerated(ctx, src, s.Lab.Dir, true, true); err != nil {
			return fail(err)
		}
		return "copied whole by the backend", nil
	}
	how, err := s.replaceAll(ctx, src, trash)
	if err != nil {
		return fail(err)
	}
	return how, nil
}

// replaceAll moves the lab's generated dirs into trash and puts m's in:
// its spare moved in when there is one, else a copy.
func (s *Store) replaceAll(ctx context.Context, src, trash string) (string, error) {
	trashed := filepath.Join(trash, "lab")
	if err := os.Mkdir(trashed, 0o700); err != nil {
		return "", err
	}
	for _, name := range s.Lab.GeneratedNames() {
		p := s.Lab.Path(name)
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		if err := os.Rename(p, filepath.Join(trashed, name)); err != nil {
			return "", err
		}
	}
	how := "copied whole"
	ready := filepath.Join(src, spareDir)
	if _, err := os.Stat(filepath.Join(ready, spareMarker)); err == nil {
		for _, name := range s.Lab.GeneratedNames() {
			if _, err := os.Lstat(filepath.Join(ready, name)); err != nil {
				continue
			}
			if err := os.Rename(filepath.Join(ready, name), s.Lab.Path(name)); err != nil {
				return "", err
			}
		}
		_ = os.Remove(filepath.Join(ready, spareMarker))
		how = "the spare copy moved in"
	} else if err := s.copyGenerated(ctx, src, s.Lab.Dir, false); err != nil {
		return "", err
	}
	// Read before any step runs: a file changed before it is recorded
	// would be taken for the checkpoint's.
	_ = s.recordLab(filepath.Base(src))
	s.after(func() {
		_ = s.remove(trash)
		_ = s.remove(ready)
		if s.Spare {
			s.makeSpare(src)
		}
	})
	return how, nil
}

// after runs the clean-up of a restore: in the background with a spare
// (the debugger's key press waits for none of it), else now, so that it
// does not slow the steps run next.
func (s *Store) after(f func()) {
	if !s.Spare {
		f()
		return
	}
	s.bg.Add(1)
	go func() { // joined through s.bg
		defer s.bg.Done()
		f()
	}()
}

// checkLinked fails when an archive file shared with the lab by a hard
// link was changed in place since (a hook, say): the checkpoint is then
// not the state it was.
func checkLinked(dir string, linked []Linked) error {
	for _, l := range linked {
		p := filepath.Join(dir, cluster.StorageDir, l.Name)
		info, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("archive file %s: %w", l.Name, err)
		}
		if info.Size() != l.Size || info.ModTime().UnixNano() != l.MTime || info.Mode() != l.Mode {
			return fmt.Errorf("archive file %s changed since the checkpoint was taken: %w", l.Name, ErrChanged)
		}
	}
	return nil
}

// ErrChanged is what a checkpoint that no longer holds fails with.
var ErrChanged = errors.New("checkpoint no longer holds")
