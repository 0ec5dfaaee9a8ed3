package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The lab's own files (confs, wal-g.json, hooks) are copied to where the
// server user reads them and printed in outputs. A lab shared as a tarball
// or a repository can carry a link among them (to /etc/shadow, say), so a
// link that leads out of the lab, or into a directory the servers own, is
// refused with one line naming it; one to another file of the lab is
// followed.

// maxLabFile bounds a lab file walstep reads (a large SQL hook included).
const maxLabFile = 16 << 20

// ErrLabLink marks a lab file refused because it is a link that leaves
// the lab.
var ErrLabLink = errors.New("walstep does not follow it")

// labEditable lists the lab's own files that a session reads.
var labEditable = []string{PrimaryRestore, ReplicaRestore, ReplicaStandby, WalgJSON, "playbook.yaml"}

// resolveOwn returns name's path relative to the lab after following
// links, refusing one that leaves the lab or enters a generated dir.
func (l *Lab) resolveOwn(name string) (string, error) {
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return "", fmt.Errorf("lab file %s: not a path inside the lab", name)
	}
	p := l.Path(filepath.FromSlash(name))
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if target, lerr := os.Readlink(p); lerr == nil {
				return "", fmt.Errorf("lab file %s is a symbolic link to %s, which does not exist: %w", name, target, ErrLabLink)
			}
		}
		return "", err
	}
	rel, err := filepath.Rel(l.Dir, real)
	if err != nil || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("lab file %s is a symbolic link to %s, outside the lab: %w (put the file itself in the lab)", name, real, ErrLabLink)
	}
	if first := strings.Split(rel, string(filepath.Separator))[0]; slices.Contains(l.GeneratedNames(), first) {
		return "", fmt.Errorf("lab file %s is a symbolic link into %s/, which the servers own: %w (put the file itself in the lab)", name, first, ErrLabLink)
	}
	return rel, nil
}

// ReadFile reads an editable lab file (name relative to the lab, e.g.
// hooks/after-13.primary.sql) with a clear error: a link out of the lab,
// a FIFO or device, or a file over 16 MiB is refused.
func (l *Lab) ReadFile(name string) ([]byte, error) {
	rel, err := l.resolveOwn(name)
	if errors.Is(err, ErrLabLink) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read lab file %s: %w (restore the default with walstep init)", name, err)
	}
	b, err := ReadBelow(context.Background(), l.Dir, rel, maxLabFile)
	if err != nil {
		return nil, fmt.Errorf("read lab file %s: %w", name, err)
	}
	return b, nil
}

// CheckOwnFiles refuses, before anything runs, a lab whose confs,
// wal-g.json, hooks directory or hooks are links out of the lab (or
// something other than a regular file): one error naming the first.
func (l *Lab) CheckOwnFiles() error {
	names := slices.Clone(labEditable)
	if _, err := os.Lstat(l.Path(HooksDir)); err == nil {
		if _, err := l.resolveOwn(HooksDir); err != nil {
			return err
		}
		ents, err := os.ReadDir(l.Path(HooksDir))
		if err != nil {
			return fmt.Errorf("read hooks: %w", err)
		}
		for _, e := range ents {
			if !e.IsDir() && strings.HasPrefix(e.Name(), "after-") {
				names = append(names, HooksDir+"/"+e.Name())
			}
		}
	}
	for _, n := range names {
		if _, err := os.Lstat(l.Path(n)); errors.Is(err, fs.ErrNotExist) {
			continue // a file the lab does not have: its step says so
		}
		if _, err := l.ReadFile(n); err != nil {
			return err
		}
	}
	return nil
}
