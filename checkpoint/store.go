package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"walstep/cluster"
	"walstep/pg"
	"walstep/steps"
)

// metaFile is a checkpoint's description, next to its copies.
const metaFile = "meta.json"

// Limits bound what a lab keeps; the oldest checkpoints go first.
const (
	DefaultMaxCount = 6
	DefaultMaxBytes = 4 << 30
)

// Meta describes one checkpoint: where in the playbook it was taken,
// what it depends on, what the Env and the readings were then.
type Meta struct {
	Name   string   `json:"-"`      // its directory under checkpoints/
	Before string   `json:"before"` // steps.StepKey of the step it precedes
	Index  int      `json:"index"`  // that step's index in the playbook then
	Done   []string `json:"done"`   // StepKeys of the steps before it
	// Parts are the dependency rule's hashes (see Deps.Parts) when it was
	// taken; Key is their one hash.
	Parts    map[string]string `json:"parts"`
	Key      string            `json:"key"`
	Env      steps.EnvState    `json:"env"`
	Readings []pg.Snapshot     `json:"readings,omitempty"` // each step's end reading, in order
	Taken    time.Time         `json:"taken"`
	Took     time.Duration     `json:"took_ns"`
	Bytes    int64             `json:"bytes"`
	// Linked are the archive's files, hard-linked with the lab's: a
	// restore refuses a checkpoint whose linked file changed since.
	Linked []Linked `json:"linked,omitempty"`
	// Unread counts the dirs walstep could not read (the servers', without
	// root): Bytes leaves them out.
	Unread int `json:"unread,omitempty"`
}

// Linked is one hard-linked archive file as it was when linked.
type Linked struct {
	Name  string      `json:"name"`
	Size  int64       `json:"size"`
	MTime int64       `json:"mtime_ns"`
	Mode  fs.FileMode `json:"mode"`
}

// Store is a lab's checkpoints.
type Store struct {
	Lab    *cluster.Lab
	Remove func(string) error // the backend's remover (files a container owns)
	// Copier copies the lab's dirs where walstep cannot keep their
	// owners itself (without root on this host); nil: walstep copies.
	Copier   cluster.LabCopier
	MaxCount int
	MaxBytes int64
	// Spare keeps a second copy of each checkpoint ready to be moved
	// into the lab, made in the background after a take or a restore: a
	// restore is then a rename, not a copy (the debugger's rewind). The
	// Store's other calls wait for that work first.
	Spare bool

	bg sync.WaitGroup
}

// spareDir is where a checkpoint's spare copy waits, complete once its
// marker is written.
const (
	spareDir    = "ready"
	spareMarker = ".complete"
)

// Wait returns when the background work (spares, removals) is done.
func (s *Store) Wait() { s.bg.Wait() }

func (s *Store) dir() string { return s.Lab.Path(cluster.CheckpointsDir) }

// List returns the checkpoints kept, oldest first; a directory without a
// readable meta.json (a copy that did not finish) is left out.
func (s *Store) List() []Meta {
	s.bg.Wait()
	ents, err := os.ReadDir(s.dir())
	if err != nil {
		return nil
	}
	var out []Meta
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := s.Lab.ReadFile(cluster.CheckpointsDir + "/" + e.Name() + "/" + metaFile)
		if err != nil {
			continue
		}
		var m Meta
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		m.Name = e.Name()
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return seqOf(out[i].Name) < seqOf(out[j].Name) })
	return out
}

func seqOf(name string) int {
	n, _ := strconv.Atoi(strings.SplitN(name, "-", 2)[0])
	return n
}

// Take copies the lab's generated state into a new checkpoint described
// by m (Parts, Key, Env, Readings, Before, Index, Done set by the caller);
// one taken before the same step goes, and the oldest go until the limits
// hold. A copy that fails (a full disk) is removed whole and the lab is
// as it was.
func (s *Store) Take(ctx context.Context, m Meta) (Meta, error) {
	s.bg.Wait()
	begin := time.Now()
	if err := s.Lab.MkdirAll(s.dir(), 0o700, -1, -1); err != nil {
		return m, fmt.Errorf("keep a checkpoint: %w", err)
	}
	all := s.List()
	seq := 1
	if len(all) > 0 {
		seq = seqOf(all[len(all)-1].Name) + 1
	}
	m.Name = fmt.Sprintf("%d-before-%s", seq, safeName(m.Before))
	partial := filepath.Join(s.dir(), "."+m.Name+".partial")
	_ = s.remove(partial)
	s.forgetLab()
	if err := s.Lab.MkdirAll(partial, 0o700, -1, -1); err != nil {
		return m, fmt.Errorf("keep a checkpoint: %w", err)
	}
	fail := func(err error) (Meta, error) {
		_ = s.remove(partial)
		return m, fmt.Errorf("keep a checkpoint before step %s: %w", m.Before, err)
	}
	if err := s.copyGenerated(ctx, s.Lab.Dir, partial, false); err != nil {
		return fail(err)
	}
	linked, bytes, unread, err := inventory(partial)
	if err != nil {
		return fail(err)
	}
	m.Unread = unread
	m.Linked, m.Bytes, m.Taken, m.Took = linked, bytes, time.Now(), time.Since(begin)
	b, err := json.Marshal(m)
	if err != nil {
		return fail(err)
	}
	if err := os.WriteFile(filepath.Join(partial, metaFile), b, 0o600); err != nil {
		return fail(err)
	}
	if err := os.Rename(partial, filepath.Join(s.dir(), m.Name)); err != nil {
		return fail(err)
	}
	// The copy's hard links moved the archive files' change times: read now.
	_ = s.recordLab(m.Name)
	for _, o := range all {
		if o.Before == m.Before {
			_ = s.Drop(o)
		}
	}
	s.bound()
	s.sweep()
	s.spare(m)
	return m, nil
}

// sweep removes what an earlier walstep left half done (a copy, a spare,
// a lab moved aside) when it was killed.
func (s *Store) sweep() {
	ents, _ := os.ReadDir(s.dir())
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") && e.IsDir() {
			_ = s.remove(filepath.Join(s.dir(), e.Name()))
		}
	}
}

// copyGenerated copies the lab's dirs from → to, the archive hard-linked:
// by walstep with root on this host, else by the backend when it can;
// replace (the backend's copy only) removes to's dirs first.
func (s *Store) copyGenerated(ctx context.Context, from, to string, replace bool) error {
	if !hostRoot() && s.Copier != nil {
		return s.Copier.CopyGenerated(ctx, from, to, true, replace)
	}
	return cluster.CopyGenerated(ctx, from, to, true)
}

// hostRoot says whether walstep may read and hand out the servers' files
// itself; a variable for tests.
var hostRoot = func() bool { return os.Geteuid() == 0 }

// spare makes m's spare copy in the background (when Spare is set and
// walstep may move the servers' dirs: a dir moved to another parent must
// be writable, and without root the servers' are not).
func (s *Store) spare(m Meta) {
	if !s.Spare || !hostRoot() {
		return
	}
	s.bg.Add(1)
	go func() { // joined through s.bg by every other call and Wait
		defer s.bg.Done()
		s.makeSpare(filepath.Join(s.dir(), m.Name))
	}()
}

// makeSpare copies the checkpoint at src into its spare dir, marked
// complete last; a failed copy leaves none (a restore then copies).
func (s *Store) makeSpare(src string) {
	ready := filepath.Join(src, spareDir)
	if _, err := os.Stat(filepath.Join(ready, spareMarker)); err == nil {
		return
	}
	_ = s.remove(ready)
	if err := s.Lab.MkdirAll(ready, 0o700, -1, -1); err != nil {
		return
	}
	if err := s.copyGenerated(context.Background(), src, ready, false); err != nil {
		_ = s.remove(ready)
		return
	}
	_ = os.WriteFile(filepath.Join(ready, spareMarker), nil, 0o600)
}

// bound drops the oldest checkpoints until the count and size limits hold.
func (s *Store) bound() {
	maxN, maxB := s.MaxCount, s.MaxBytes
	if maxN <= 0 {
		maxN = DefaultMaxCount
	}
	if maxB <= 0 {
		maxB = DefaultMaxBytes
	}
	all := s.List()
	var total int64
	for _, m := range all {
		total += m.Bytes
	}
	for len(all) > 1 && (len(all) > maxN || total > maxB) {
		total -= all[0].Bytes
		_ = s.Drop(all[0])
		all = all[1:]
	}
}

// Drop removes one checkpoint.
func (s *Store) Drop(m Meta) error {
	s.bg.Wait()
	if _, ok := s.loadLab(m.Name); ok {
		s.forgetLab() // a later checkpoint may get the same name
	}
	return s.remove(filepath.Join(s.dir(), m.Name))
}

// DropAll removes every checkpoint.
func (s *Store) DropAll() error { s.bg.Wait(); return s.remove(s.dir()) }

func (s *Store) remove(p string) error { return s.Lab.Remove(s.Remove, p) }

// inventory sums what a checkpoint holds and lists its archive's files.
func inventory(dir string) ([]Linked, int64, int, error) {
	var linked []Linked
	unread := 0
	var total int64
	storage := filepath.Join(dir, cluster.StorageDir)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil && errors.Is(err, fs.ErrPermission) && !hostRoot() {
			// The servers' dirs, which walstep may not read without root:
			// left out of the sum, their archive files unchecked.
			unread++
			return nil
		}
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		if rel, err := filepath.Rel(storage, p); err == nil && !strings.HasPrefix(rel, "..") {
			linked = append(linked, Linked{Name: rel, Size: info.Size(), MTime: info.ModTime().UnixNano(), Mode: info.Mode()})
		}
		return nil
	})
	if err != nil {
		return nil, 0, 0, fmt.Errorf("list the copy: %w", err)
	}
	return linked, total, unread, nil
}

func safeName(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, id)
}
