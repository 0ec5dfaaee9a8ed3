package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// MkdirAll makes the directory p inside the lab, and any missing parents,
// relative to the lab's own directory and never through a link: the
// server user owns several of the lab's dirs and could swap one (run/, a
// config dir) for a link while walstep runs, which would make root create
// and chown directories elsewhere. The last directory gets perm and, when
// uid >= 0, that owner, both set on the opened directory; parents it makes
// are 0755 and walstep's. An existing last directory keeps its mode and
// owner unless uid >= 0 (a container's postgres may own it).
func (l *Lab) MkdirAll(p string, perm os.FileMode, uid, gid int) error {
	rel, err := filepath.Rel(l.Dir, filepath.Clean(p))
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return fmt.Errorf("create %s: it is outside the lab %s", p, l.Dir)
	}
	// O_PATH: walking needs only search permission, and a directory on the
	// way may be a container's postgres user's (without root on the host
	// walstep may not read it); the last one is opened for reading only
	// when its owner or mode is to be set.
	const walk = unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Open(l.Dir, walk, 0)
	if err != nil {
		return fmt.Errorf("create %s: open the lab: %w", p, &os.PathError{Op: "open", Path: l.Dir, Err: err})
	}
	defer func() { unix.Close(fd) }()
	if rel == "." {
		return fmt.Errorf("create %s: it is the lab itself", p)
	}
	parts := strings.Split(rel, string(filepath.Separator))
	cur := l.Dir
	created := false
	for i, c := range parts {
		cur = filepath.Join(cur, c)
		mode := uint32(0o755)
		if i == len(parts)-1 {
			mode = uint32(perm.Perm())
		}
		err := unix.Mkdirat(fd, c, mode)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create %s: %w", cur, err)
		}
		created = err == nil
		flags := walk
		if i == len(parts)-1 && (uid >= 0 || created) {
			flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		}
		nfd, err := unix.Openat(fd, c, flags, 0)
		if err != nil {
			if isSymlinkAt(fd, c) {
				return fmt.Errorf("create %s: %s is a symbolic link: %w", p, cur, ErrLink)
			}
			return fmt.Errorf("create %s: %w", p, &os.PathError{Op: "open", Path: cur, Err: err})
		}
		unix.Close(fd)
		fd = nfd
	}
	if uid >= 0 {
		if err := unix.Fchown(fd, uid, gid); err != nil {
			return fmt.Errorf("hand %s to the server user: %w", p, err)
		}
	} else if !created {
		return nil
	}
	if err := unix.Fchmod(fd, uint32(perm.Perm())); err != nil {
		return fmt.Errorf("set the mode of %s: %w", p, err)
	}
	return nil
}
