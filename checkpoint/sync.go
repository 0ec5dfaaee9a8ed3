package checkpoint

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"walstep/cluster"
)

// A restore copies back only what changed since the lab was last made a
// checkpoint's: a race run writes a few MB of its ~100, and a copy of the
// rest is most of what run --from would otherwise spend. What changed is
// read from the inodes: the kernel sets a file's change time on every
// write, truncate, chmod, chown, link and rename, and nothing sets it
// back, so a lab file with the inode and change time it had right after
// it was made equal to the checkpoint's is still equal to it.

// syncStats count what a differential restore did.
type syncStats struct{ copied, linked, removed int }

func (st syncStats) String() string {
	s := fmt.Sprintf("%d files copied back", st.copied)
	if st.linked > 0 {
		s += fmt.Sprintf(", %d linked", st.linked)
	}
	return s + fmt.Sprintf(", %d removed", st.removed)
}

// syncer makes the lab's generated dirs the checkpoint's, touching only
// what differs. The lab's dirs are the server user's: everything below
// the lab is reached by directory descriptors opened without following
// links, so a link planted there is replaced, never written through.
type syncer struct {
	src     string // the checkpoint
	was     map[string]fileState
	now     map[string]fileState
	trashFd int
	trashN  int
	stats   syncStats
}

// syncLab restores checkpoint src (its record was) into the lab; what it
// takes out of the lab goes to trash, a dir on the lab's filesystem.
func (s *Store) syncLab(src, trash string, was labState) (map[string]fileState, syncStats, error) {
	labFd, err := unix.Open(s.Lab.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, syncStats{}, fmt.Errorf("open the lab: %w", err)
	}
	defer unix.Close(labFd)
	trashFd, err := unix.Open(trash, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, syncStats{}, fmt.Errorf("open %s: %w", trash, err)
	}
	defer unix.Close(trashFd)
	y := &syncer{src: src, was: was.Files, now: map[string]fileState{}, trashFd: trashFd}
	for _, top := range s.Lab.GeneratedNames() {
		if err := y.entry(labFd, top, top); err != nil {
			return nil, y.stats, err
		}
	}
	return y.now, y.stats, nil
}

// discard moves the lab's entry name (in dir fd) to the trash.
func (y *syncer) discard(fd int, name string) error {
	y.trashN++
	y.stats.removed++
	if err := unix.Renameat(fd, name, y.trashFd, fmt.Sprint(y.trashN)); err != nil {
		return fmt.Errorf("move %s aside: %w", name, err)
	}
	return nil
}

// entry makes the lab's rel (name in dir fd) the checkpoint's rel.
func (y *syncer) entry(fd int, name, rel string) error {
	var want unix.Stat_t
	ck := filepath.Join(y.src, rel)
	if err := unix.Lstat(ck, &want); err != nil {
		if !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("read %s: %w", ck, err)
		}
		var st unix.Stat_t
		if unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			return y.discard(fd, name)
		}
		return nil
	}
	var have unix.Stat_t
	exists := unix.Fstatat(fd, name, &have, unix.AT_SYMLINK_NOFOLLOW) == nil
	kind := want.Mode & unix.S_IFMT
	if exists && have.Mode&unix.S_IFMT != kind {
		if err := y.discard(fd, name); err != nil {
			return err
		}
		exists = false
	}
	switch kind {
	case unix.S_IFDIR:
		return y.dir(fd, name, rel, &want, exists)
	case unix.S_IFREG:
		if exists && y.same(rel, &have, &want) {
			y.now[rel] = stateOf(&have)
			return nil
		}
		if exists {
			if err := y.discard(fd, name); err != nil {
				return err
			}
		}
		if err := y.file(fd, name, ck, rel, &want); err != nil {
			return fmt.Errorf("copy %s back: %w", rel, err)
		}
		if err := unix.Fstatat(fd, name, &have, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		y.now[rel] = stateOf(&have)
		return nil
	case unix.S_IFLNK:
		target, err := os.Readlink(ck)
		if err != nil {
			return err
		}
		if exists && have.Uid == want.Uid && have.Gid == want.Gid && readlinkat(fd, name) == target {
			return nil
		}
		if exists {
			if err := y.discard(fd, name); err != nil {
				return err
			}
		}
		if err := unix.Symlinkat(target, fd, name); err != nil {
			return fmt.Errorf("link %s back: %w", rel, err)
		}
		return y.attrs(fd, name, &want, false)
	default: // a FIFO or socket is made anew, as cp -a makes it
		if exists && have.Mode == want.Mode && have.Uid == want.Uid && have.Gid == want.Gid {
			return nil
		}
		if exists {
			if err := y.discard(fd, name); err != nil {
				return err
			}
		}
		if err := unix.Mknodat(fd, name, want.Mode, int(want.Rdev)); err != nil {
			return fmt.Errorf("make %s back: %w", rel, err)
		}
		return y.attrs(fd, name, &want, true)
	}
}

// same says whether the lab's file have is still the checkpoint's want:
// the archive's hard link to it, or the inode recorded when it was made
// equal to it, unchanged since.
func (y *syncer) same(rel string, have, want *unix.Stat_t) bool {
	if have.Ino == want.Ino && have.Dev == want.Dev {
		return true
	}
	w, ok := y.was[rel]
	return ok && w == stateOf(have) &&
		w.Size == want.Size && w.Mtime == want.Mtim.Nano() && w.Mode == want.Mode && w.UID == want.Uid && w.GID == want.Gid
}

// dir makes the lab's dir name the checkpoint's, entries first: their
// changes move its times, which are set last.
func (y *syncer) dir(fd int, name, rel string, want *unix.Stat_t, exists bool) error {
	if !exists {
		if err := unix.Mkdirat(fd, name, 0o700); err != nil {
			return fmt.Errorf("make %s back: %w", rel, err)
		}
	}
	sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", rel, err)
	}
	defer unix.Close(sub)
	wantNames, err := names(filepath.Join(y.src, rel))
	if err != nil {
		return err
	}
	haveNames, err := fdNames(sub)
	if err != nil {
		return fmt.Errorf("list %s: %w", rel, err)
	}
	keep := map[string]bool{}
	for _, n := range wantNames {
		keep[n] = true
	}
	for _, n := range haveNames {
		if !keep[n] {
			if err := y.discard(sub, n); err != nil {
				return err
			}
		}
	}
	for _, n := range wantNames {
		if err := y.entry(sub, n, rel+"/"+n); err != nil {
			return err
		}
	}
	return y.attrs(fd, name, want, true)
}

// file copies the checkpoint's file ck into the lab as name: the
// archive's files hard-linked again (they are written once), others
// copied (a reflink where the filesystem shares blocks).
func (y *syncer) file(fd int, name, ck, rel string, want *unix.Stat_t) error {
	if strings.HasPrefix(rel, cluster.StorageDir+"/") {
		y.stats.linked++
		return unix.Linkat(unix.AT_FDCWD, ck, fd, name, 0)
	}
	y.stats.copied++
	in, err := os.Open(ck)
	if err != nil {
		return err
	}
	defer in.Close()
	ofd, err := unix.Openat(fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	out := os.NewFile(uintptr(ofd), name)
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return y.attrs(fd, name, want, true)
}

// attrs gives the lab's name the checkpoint's owner, mode (not for a
// link, which has none) and times, each only where it differs: a chown or
// utimes that changes nothing still dirties the inode, which the servers'
// start then pays for (PostgreSQL fsyncs a restored data dir's every file
// and dir).
func (y *syncer) attrs(fd int, name string, want *unix.Stat_t, mode bool) error {
	var have unix.Stat_t
	if err := unix.Fstatat(fd, name, &have, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if have.Uid != want.Uid || have.Gid != want.Gid {
		if err := unix.Fchownat(fd, name, int(want.Uid), int(want.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("set the owner of %s: %w", name, err)
		}
		have.Mode &^= unix.S_ISUID | unix.S_ISGID // chown may clear them
	}
	if mode && have.Mode&0o7777 != want.Mode&0o7777 {
		if err := unix.Fchmodat(fd, name, want.Mode&0o7777, 0); err != nil {
			return fmt.Errorf("set the mode of %s: %w", name, err)
		}
	}
	if have.Mtim != want.Mtim {
		ts := []unix.Timespec{want.Atim, want.Mtim}
		if err := unix.UtimesNanoAt(fd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("set the times of %s: %w", name, err)
		}
	}
	return nil
}

func readlinkat(fd int, name string) string {
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(fd, name, buf)
	if err != nil {
		return "\x00"
	}
	return string(buf[:n])
}

// names lists a dir of the checkpoint (walstep's own, read by path).
func names(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ents))
	for i, e := range ents {
		out[i] = e.Name()
	}
	return out, nil
}

// fdNames lists the dir open at fd.
func fdNames(fd int) ([]string, error) {
	dup, err := unix.Dup(fd)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "dir")
	defer f.Close()
	return f.Readdirnames(-1)
}
