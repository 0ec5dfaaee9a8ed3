package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ReplaceLines rewrites root/rel/name in place, owner and mode kept: each
// line for which replace says so becomes the line it returns. The file is
// one the server user owns (a data dir's postgresql.conf or pg_hba.conf
// copied from another lab), so it is opened as the reader opens files
// there: the directory relative to root without following a link, the
// file O_NOFOLLOW|O_NONBLOCK, taken only when it is a regular file with one
// link (a hard link would carry the edit elsewhere) of at most
// MaxServerFile bytes.
func ReplaceLines(root, rel, name string, replace func(line string) (string, bool)) (err error) {
	shown := filepath.Join(rel, name)
	defer func() {
		if err != nil {
			err = fmt.Errorf("rewrite %s: %w", shown, err)
		}
	}()
	if name == "" || strings.ContainsRune(name, '/') || name == "." || name == ".." {
		return fmt.Errorf("not a plain file name: %q", name)
	}
	dfd, err := openDirNoFollow(root, rel)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	fd, err := unix.Openat(dfd, name, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || isSymlinkAt(dfd, name) {
			return fmt.Errorf("it is a symbolic link: %w", ErrLink)
		}
		return err
	}
	f := os.NewFile(uintptr(fd), shown)
	defer f.Close()
	if err := checkPlain(fd, shown); err != nil {
		return err
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxServerFile+1))
	if err != nil {
		return err
	}
	if len(b) > MaxServerFile {
		return ErrTooLarge
	}
	lines := strings.Split(string(b), "\n")
	changed := false
	for i, l := range lines {
		if nl, ok := replace(l); ok && nl != l {
			lines[i], changed = nl, true
		}
	}
	if !changed {
		return nil
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(strings.Join(lines, "\n")), 0); err != nil {
		return err
	}
	return f.Close()
}
