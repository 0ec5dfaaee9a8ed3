package cluster

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// labOwnFiles are the lab's editable files and walstep's markers: a file
// written for the user (a transcript) must not replace one of them.
var labOwnFiles = []string{PrimaryRestore, ReplicaRestore, ReplicaStandby, WalgJSON, LabReadme, PlaybookFile, MarkerFile, LockFile, DockerUsedFile, NodesFile, HooksDir}

// CheckOutputPath refuses p as the path of a file walstep writes for the
// user (a transcript) when it lies in the lab's generated dirs, which a
// run deletes at step 0, or is one of the lab's own files or hooks.
// Symlinks are resolved, so a link into the lab is refused too.
func (l *Lab) CheckOutputPath(p string) error {
	abs, err := filepath.Abs(p)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", p, err)
	}
	full := abs
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		full = real
	} else if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		full = filepath.Join(dir, filepath.Base(abs))
	}
	rel, err := filepath.Rel(l.Dir, full)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil // outside the lab
	}
	if rel == "." {
		return fmt.Errorf("%s is the lab directory itself: name a file", p)
	}
	first := strings.Split(rel, string(filepath.Separator))[0]
	if first == CheckpointsDir {
		return fmt.Errorf("%s is inside the lab's %s/, which walstep replaces and clean deletes: write it elsewhere (next to the lab, say)", p, first)
	}
	if slices.Contains(l.GeneratedNames(), first) {
		return fmt.Errorf("%s is inside the lab's %s/, which each run deletes: write it elsewhere (next to the lab, say)", p, first)
	}
	if slices.Contains(labOwnFiles, first) {
		return fmt.Errorf("%s would replace the lab's own %s: choose another name", p, first)
	}
	return nil
}
