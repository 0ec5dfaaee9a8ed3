package cluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unicode"
)

// ExploreDir is where `walstep explore` keeps its results inside a lab;
// the labs of its runs live there, the only labs allowed inside a lab.
const ExploreDir = "explore"

// checkLabPlace refuses dir (absolute, links resolved as far as it
// exists) as a lab's directory when a reset of another lab could delete
// it, or someone else could move it or swap its files:
//   - a control character (a newline, say) in the path, which initdb and
//     the servers' confs would trip on only after step 0 ran;
//   - a directory above it carrying a lab marker (a lab inside a lab),
//     but for the labs of explore's runs in that lab's explore/;
//   - the lab or a directory above it owned by a user other than root and
//     walstep's own (the server user, say), or writable by group or
//     others without the sticky bit (/tmp is fine: nobody can rename what
//     is yours there).
func checkLabPlace(dir string) error {
	if i := strings.IndexFunc(dir, unicode.IsControl); i >= 0 {
		return fmt.Errorf("lab path %q has a control character (%U): choose a path without one", dir, []rune(dir[i:])[0])
	}
	euid := os.Geteuid()
	for p, below := dir, ""; ; p, below = filepath.Dir(p), filepath.Join(filepath.Base(p), below) {
		st, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// not made yet: its parent decides
		case err != nil:
			return fmt.Errorf("check lab path %s: %w", p, err)
		default:
			if p != dir {
				if _, err := os.Lstat(filepath.Join(p, MarkerFile)); err == nil && !strings.HasPrefix(below, ExploreDir+string(filepath.Separator)) {
					return fmt.Errorf("lab %s is inside the lab %s, whose reset could delete it: choose a directory outside it", dir, p)
				}
			}
			if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid != 0 && int(sys.Uid) != euid {
				return fmt.Errorf("lab %s: %s belongs to %s, who could move the lab or swap its files: choose a directory that only you (or root) can change", dir, p, userName(sys.Uid))
			}
			if st.Mode().Perm()&0o022 != 0 && st.Mode()&fs.ModeSticky == 0 {
				return fmt.Errorf("lab %s: %s is writable by other users (mode %o), who could move the lab or swap its files: choose a directory that only you (or root) can change", dir, p, st.Mode().Perm())
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func userName(uid uint32) string {
	if u, err := user.LookupId(strconv.Itoa(int(uid))); err == nil {
		return "user " + u.Username
	}
	return "uid " + strconv.Itoa(int(uid))
}

// resolveExisting resolves the links in the part of abs that exists and
// keeps the rest as it is.
func resolveExisting(abs string) string {
	rest := ""
	for p := abs; ; p = filepath.Dir(p) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(real, rest)
		}
		if p == filepath.Dir(p) {
			return abs
		}
		rest = filepath.Join(filepath.Base(p), rest)
	}
}

// holdsLab reports a lab marker anywhere inside p (p's own included),
// without following links: a reset must never delete another lab.
func holdsLab(p string) (string, bool) {
	found := ""
	_ = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable: nothing seen there
		}
		if d.Name() == MarkerFile && !d.IsDir() {
			found = filepath.Dir(path)
			return fs.SkipAll
		}
		return nil
	})
	return found, found != ""
}
