package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// fileState is a lab file's inode as it was right after it was made the
// checkpoint's.
type fileState struct {
	Ino   uint64 `json:"i"`
	Ctime int64  `json:"c"`
	Mtime int64  `json:"m"`
	Size  int64  `json:"s"`
	Mode  uint32 `json:"o"`
	UID   uint32 `json:"u"`
	GID   uint32 `json:"g"`
}

func stateOf(st *unix.Stat_t) fileState {
	return fileState{Ino: st.Ino, Ctime: st.Ctim.Nano(), Mtime: st.Mtim.Nano(), Size: st.Size, Mode: st.Mode, UID: st.Uid, GID: st.Gid}
}

// labState names the checkpoint the lab's generated state was last made
// equal to, and its regular files' inodes then (lab-relative names).
type labState struct {
	Checkpoint string               `json:"checkpoint"`
	Files      map[string]fileState `json:"files"`
}

// labStateFile holds the labState, beside the checkpoints.
const labStateFile = "lab-state.json"

func (s *Store) labStatePath() string { return filepath.Join(s.dir(), labStateFile) }

// forgetLab drops the record before the lab changes under walstep's
// hands, so a restore cut short leaves none that would be wrong.
func (s *Store) forgetLab() { _ = os.Remove(s.labStatePath()) }

// loadLab reads the record when it is of checkpoint name.
func (s *Store) loadLab(name string) (labState, bool) {
	var st labState
	b, err := os.ReadFile(s.labStatePath())
	if err != nil || json.Unmarshal(b, &st) != nil || st.Checkpoint != name || st.Files == nil {
		return labState{}, false
	}
	return st, true
}

// saveLab records files as the lab's state of checkpoint name, once the
// file clock has moved past every change time among them: a write in the
// same clock tick as the copy would otherwise leave the change time as
// recorded.
func (s *Store) saveLab(name string, files map[string]fileState) error {
	var last int64
	for _, f := range files {
		last = max(last, f.Ctime)
	}
	if err := waitPast(s.dir(), last); err != nil {
		return err
	}
	b, err := json.Marshal(labState{Checkpoint: name, Files: files})
	if err != nil {
		return err
	}
	tmp := s.labStatePath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.labStatePath())
}

// recordLab records the lab as it is now as checkpoint name's state; only
// where walstep can read the servers' files (root on this host).
func (s *Store) recordLab(name string) error {
	if !hostRoot() {
		return nil
	}
	files := map[string]fileState{}
	for _, top := range s.Lab.GeneratedNames() {
		err := filepath.WalkDir(s.Lab.Path(top), func(p string, d os.DirEntry, err error) error {
			if errors.Is(err, os.ErrNotExist) && p == s.Lab.Path(top) {
				return filepath.SkipDir
			}
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			var st unix.Stat_t
			if err := unix.Lstat(p, &st); err != nil {
				return err
			}
			rel, _ := filepath.Rel(s.Lab.Dir, p)
			files[rel] = stateOf(&st)
			return nil
		})
		if err != nil {
			return fmt.Errorf("record the lab's files: %w", err)
		}
	}
	return s.saveLab(name, files)
}

// waitPast returns once a file made now has a change time after t.
func waitPast(dir string, t int64) error {
	probe := filepath.Join(dir, ".clock")
	deadline := time.Now().Add(2 * time.Second)
	for {
		_ = os.Remove(probe)
		if err := os.WriteFile(probe, nil, 0o600); err != nil {
			return err
		}
		var st unix.Stat_t
		err := unix.Lstat(probe, &st)
		_ = os.Remove(probe)
		if err != nil {
			return err
		}
		if st.Ctim.Nano() > t {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("the file clock did not move past the copy's")
		}
		time.Sleep(time.Millisecond)
	}
}
