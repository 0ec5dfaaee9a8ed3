package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Reads in the servers' areas (data dirs, config dirs, the archive, logs,
// run/) are of files the server user can replace, and walstep may run as
// root: every read there opens each component relative to its verified
// parent without following a link, takes regular files only (a FIFO
// would block, a device never ends), reads at most a size fit for what
// it reads, and gives up after a deadline.

// MaxServerFile bounds Backend.ReadFile: the files walstep reads there
// (history files, confs, postmaster.pid, signal files) are far smaller.
const MaxServerFile = 1 << 20

// maxPidFile bounds a postmaster.pid (eight short lines).
const maxPidFile = 4096

// maxLogTail bounds how much of a log's end TailFile reads.
const maxLogTail = 4 << 20

// maxListing bounds the entries ReadDir returns.
const maxListing = 100000

// ReadTimeout bounds one read in a server area; a read that has not ended
// by then is left to finish on its own and reported as timed out.
var ReadTimeout = 5 * time.Second

// controlDataTimeout bounds one pg_controldata run.
const controlDataTimeout = 15 * time.Second

// ownerCred is dir's owner as a credential to run a reader of it with,
// when walstep runs as root and someone else owns it; else nil.
func ownerCred(dir string) *syscall.Credential {
	var st unix.Stat_t
	if os.Geteuid() != 0 || unix.Stat(dir, &st) != nil || st.Uid == 0 {
		return nil
	}
	return &syscall.Credential{Uid: st.Uid, Gid: st.Gid}
}

// ErrNotPlain marks a refused read: a link, a FIFO, a device or a file
// with other hard links, which the server user may have planted to make
// walstep, running as root, block or read elsewhere.
var ErrNotPlain = errors.New("walstep reads only regular files, never through links, in the servers' directories")

// ErrTooLarge marks a file larger than what walstep reads of it.
var ErrTooLarge = errors.New("larger than walstep reads")

// withDeadline runs f, returning when it ends, when ctx ends or after
// ReadTimeout, whichever comes first.
func withDeadline[T any](ctx context.Context, what string, f func() (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, ReadTimeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() { // buffered: it never blocks, and ends with its read
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("%s: %w", what, ctx.Err())
	}
}

// splitRel splits a relative path into its directory and last component,
// refusing one that leaves its root.
func splitRel(rel string) (string, string, error) {
	rel = filepath.Clean(filepath.FromSlash(rel))
	if rel == "." || !filepath.IsLocal(rel) {
		return "", "", fmt.Errorf("%q is not a path inside its directory", rel)
	}
	return filepath.Dir(rel), filepath.Base(rel), nil
}

// openPlainBelow opens root/rel for reading with no link followed below
// root and returns it with its size once it is known to be a regular file
// with one link (or only links owned like its directory).
func openPlainBelow(root, rel string) (*os.File, int64, error) {
	dir, name, err := splitRel(rel)
	if err != nil {
		return nil, 0, err
	}
	dfd, err := openDirNoFollow(root, dir)
	if err != nil {
		return nil, 0, forRead(err)
	}
	defer unix.Close(dfd)
	shown := filepath.Join(root, rel)
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || isSymlinkAt(dfd, name) {
			return nil, 0, fmt.Errorf("%s is a symbolic link: %w", shown, ErrNotPlain)
		}
		return nil, 0, &os.PathError{Op: "open", Path: shown, Err: err}
	}
	var st, dst unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, 0, &os.PathError{Op: "stat", Path: shown, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, 0, fmt.Errorf("%s is not a regular file: %w", shown, ErrNotPlain)
	}
	// A second hard link to a file someone else owns may be one to a
	// root-only file elsewhere on the file system.
	if st.Nlink > 1 && (unix.Fstat(dfd, &dst) != nil || dst.Uid != st.Uid) {
		unix.Close(fd)
		return nil, 0, fmt.Errorf("%s has %d hard links: %w", shown, st.Nlink, ErrNotPlain)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, 0, &os.PathError{Op: "open", Path: shown, Err: err}
	}
	return os.NewFile(uintptr(fd), shown), st.Size, nil
}

// ReadBelow reads root/rel, at most max bytes, the way every read in a
// server area goes (see the top of this file). root is a directory walstep
// trusts (the lab, a data dir); a missing file wraps fs.ErrNotExist.
func ReadBelow(ctx context.Context, root, rel string, max int64) ([]byte, error) {
	return withDeadline(ctx, "read "+filepath.Join(root, rel), func() ([]byte, error) {
		f, size, err := openPlainBelow(root, rel)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if size > max {
			return nil, fmt.Errorf("%s is %d bytes: %w (%d)", f.Name(), size, ErrTooLarge, max)
		}
		b, err := io.ReadAll(io.LimitReader(f, max+1))
		if err != nil {
			return nil, err
		}
		if int64(len(b)) > max {
			return nil, fmt.Errorf("%s grew past %d bytes: %w", f.Name(), max, ErrTooLarge)
		}
		return b, nil
	})
}

// StatBelow is the lstat of root/rel, no link followed on the way; a link
// is reported as one (Link set), never followed.
func StatBelow(ctx context.Context, root, rel string) (FileInfo, error) {
	return withDeadline(ctx, "stat "+filepath.Join(root, rel), func() (FileInfo, error) {
		dir, name, err := splitRel(rel)
		if err != nil {
			return FileInfo{}, err
		}
		dfd, err := openDirNoFollow(root, dir)
		if err != nil {
			return FileInfo{}, forRead(err)
		}
		defer unix.Close(dfd)
		return statAt(dfd, filepath.Join(root, rel), name)
	})
}

func statAt(dfd int, shown, name string) (FileInfo, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return FileInfo{}, &os.PathError{Op: "stat", Path: shown, Err: err}
	}
	fi := FileInfo{
		Name:    name,
		Dir:     st.Mode&unix.S_IFMT == unix.S_IFDIR,
		Size:    st.Size,
		ModTime: time.Unix(st.Mtim.Unix()),
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		buf := make([]byte, 4096)
		if n, err := unix.Readlinkat(dfd, name, buf); err == nil {
			fi.Link = string(buf[:n])
		} else {
			fi.Link = "?"
		}
	}
	return fi, nil
}

// ListBelow lists root/rel (rel "" or "." is root itself), no link
// followed on the way and none statted through, sorted by name.
func ListBelow(ctx context.Context, root, rel string) ([]FileInfo, error) {
	return withDeadline(ctx, "list "+filepath.Join(root, rel), func() ([]FileInfo, error) {
		dfd, err := openDirNoFollow(root, rel)
		if err != nil {
			return nil, forRead(err)
		}
		shown := filepath.Join(root, rel)
		// The *os.File owns dfd from here; stats use it before Close.
		dir := os.NewFile(uintptr(dfd), shown)
		defer dir.Close()
		names, err := dir.Readdirnames(maxListing + 1)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("list %s: %w", shown, err)
		}
		if len(names) > maxListing {
			return nil, fmt.Errorf("list %s: more than %d entries: %w", shown, maxListing, ErrTooLarge)
		}
		out := make([]FileInfo, 0, len(names))
		for _, n := range names {
			fi, err := statAt(dfd, filepath.Join(shown, n), n)
			if err != nil {
				continue // removed since the listing
			}
			out = append(out, fi)
		}
		sortInfos(out)
		return out, nil
	})
}

// TailFile returns up to n last lines of path, reading at most the last
// 4 MiB; a missing file is no lines. path's directory is trusted (the
// lab's logs/); the file itself must be a regular file, not a link.
func TailFile(path string, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	lines, err := withDeadline(context.Background(), "read log", func() ([]string, error) {
		f, size, err := openPlainBelow(filepath.Dir(path), filepath.Base(path))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return tailLines(f, size, n)
	})
	if err != nil && !strings.HasPrefix(err.Error(), "read log") {
		err = fmt.Errorf("read log: %w", err)
	}
	return lines, err
}
