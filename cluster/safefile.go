package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// FileArea names a directory that a node's server owns and walstep writes
// into: the data dir or the config dir (the seed's /custom-pg-configs).
type FileArea int

// The two areas.
const (
	AreaData FileArea = iota
	AreaConfig
)

// WriteMode says how WriteFile changes a server file.
type WriteMode int

// The write modes the playbook needs.
const (
	// AppendFile adds Data at the end of an existing file (seed steps 2,
	// 10, 11: sudo sh -c "echo … >> …").
	AppendFile WriteMode = iota
	// CreateFile makes an empty file owned by the server user, keeping
	// one that exists (seed step 9: sudo touch).
	CreateFile
	// ReplaceFile writes Data as the whole file, owned by the server user
	// and readable by it alone (a conf may hold a password).
	ReplaceFile
)

// ServerFile is one write into a directory a server owns.
type ServerFile struct {
	Area FileArea
	Name string // a plain file name in that directory
	Mode WriteMode
	Data []byte
	// Perm is a replaced file's mode; 0 means 0600.
	Perm os.FileMode
	// Private marks a file that holds the lab's secret: it is the server
	// user's and readable by it alone on every backend, Perm aside.
	Private bool
}

// AreaRun is the lab's run/ dir: files walstep makes for the servers to
// read (the effective wal-g.json).
const AreaRun = AreaStorage + 1

// ErrLink marks a refused write: something in the path is a link (or a
// file with other hard links), which the server user may have planted to
// make walstep, running as root, write elsewhere.
var ErrLink = errors.New("walstep does not write through links in the servers' directories")

func (f ServerFile) verb() string {
	switch f.Mode {
	case AppendFile:
		return "append to"
	case CreateFile:
		return "create"
	default:
		return "write"
	}
}

// areaDir is the lab-relative directory of area for node.
func areaDir(node Node, area FileArea) string {
	switch {
	case area == AreaStorage:
		return StorageDir
	case area == AreaRun:
		return RunDir
	case area == AreaConfig:
		return ConfigDirName(node)
	default:
		return DataDirName(node)
	}
}

// openDirNoFollow opens root/rel, refusing a link at any component below
// root (root itself is the lab, resolved when it was opened).
func openDirNoFollow(root, rel string) (int, error) {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: root, Err: err}
	}
	cur := root
	for _, c := range strings.Split(filepath.ToSlash(rel), "/") {
		if c == "" || c == "." {
			continue
		}
		if c == ".." {
			unix.Close(fd)
			return -1, fmt.Errorf("open %s: %q leaves the lab", rel, c)
		}
		cur = filepath.Join(cur, c)
		nfd, err := unix.Openat(fd, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			isLink := isSymlinkAt(fd, c)
			unix.Close(fd)
			if isLink {
				return -1, &dirLinkError{cur}
			}
			return -1, &os.PathError{Op: "open", Path: cur, Err: err}
		}
		unix.Close(fd)
		fd = nfd
	}
	return fd, nil
}

// dirLinkError is a directory on the way that is a link; it is ErrLink
// for writes and says so in the words of the operation that met it.
type dirLinkError struct{ path string }

func (e *dirLinkError) Error() string { return e.path + " is a symbolic link: " + ErrLink.Error() }

func (e *dirLinkError) Is(target error) bool { return target == ErrLink }

// forRead restates a directory link met by a read as ErrNotPlain.
func forRead(err error) error {
	var le *dirLinkError
	if errors.As(err, &le) {
		return fmt.Errorf("%s is a symbolic link: %w", le.path, ErrNotPlain)
	}
	return err
}

func isSymlinkAt(dirfd int, name string) bool {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return errors.Is(err, unix.ELOOP)
	}
	return st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// checkPlain refuses an open file that is not a regular file with one link:
// a FIFO or device would block or write elsewhere, a second hard link
// means the same inode lives somewhere else.
func checkPlain(fd int, path string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("it is not a regular file: %w", ErrLink)
	}
	if st.Nlink > 1 {
		return fmt.Errorf("it has %d hard links: %w", st.Nlink, ErrLink)
	}
	return nil
}

// writeNoFollow performs f in root/rel without following a link anywhere
// below root. uid/gid >= 0 hand created or replaced files to the server
// user (walstep runs as root); -1 keeps walstep's own.
func writeNoFollow(root, rel string, f ServerFile, uid, gid int) (err error) {
	shown := filepath.Join(rel, f.Name)
	defer func() {
		if err != nil {
			err = fmt.Errorf("%s %s: %w", f.verb(), shown, err)
		}
	}()
	if f.Name == "" || strings.ContainsRune(f.Name, '/') || f.Name == "." || f.Name == ".." {
		return fmt.Errorf("not a plain file name: %q", f.Name)
	}
	dfd, err := openDirNoFollow(root, rel)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	const common = unix.O_WRONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC
	openErr := func(err error) error {
		if errors.Is(err, unix.ELOOP) || isSymlinkAt(dfd, f.Name) {
			return fmt.Errorf("it is a symbolic link: %w", ErrLink)
		}
		return err
	}
	switch f.Mode {
	case AppendFile, CreateFile:
		flags := common | unix.O_APPEND
		if f.Mode == CreateFile {
			flags = common | unix.O_CREAT
		}
		fd, err := unix.Openat(dfd, f.Name, flags, 0o600)
		if err != nil {
			return openErr(err)
		}
		file := os.NewFile(uintptr(fd), shown)
		defer file.Close()
		if err := checkPlain(fd, shown); err != nil {
			return err
		}
		if err := unix.SetNonblock(fd, false); err != nil {
			return err
		}
		if f.Mode == CreateFile && uid >= 0 {
			if err := unix.Fchown(fd, uid, gid); err != nil {
				return fmt.Errorf("hand it to the server user: %w", err)
			}
		}
		if len(f.Data) > 0 {
			if _, err := file.Write(f.Data); err != nil {
				return err
			}
		}
		return file.Close()
	default: // ReplaceFile
		var st unix.Stat_t
		if err := unix.Fstatat(dfd, f.Name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
			if st.Mode&unix.S_IFMT == unix.S_IFLNK {
				return fmt.Errorf("it is a symbolic link: %w", ErrLink)
			}
			return fmt.Errorf("it is not a regular file: %w", ErrLink)
		}
		tmp := ".walstep-" + randHex(6) + "-" + f.Name
		perm := f.Perm
		if perm == 0 || f.Private {
			perm = 0o600
		}
		fd, err := unix.Openat(dfd, tmp, common|unix.O_CREAT|unix.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if err := unix.Fchmod(fd, uint32(perm.Perm())); err != nil {
			unix.Close(fd)
			return err
		}
		file := os.NewFile(uintptr(fd), tmp)
		done := false
		defer func() {
			file.Close()
			if !done {
				_ = unix.Unlinkat(dfd, tmp, 0)
			}
		}()
		if uid >= 0 {
			if err := unix.Fchown(fd, uid, gid); err != nil {
				return fmt.Errorf("hand it to the server user: %w", err)
			}
		}
		if _, err := file.Write(f.Data); err != nil {
			return err
		}
		if err := file.Close(); err != nil {
			return err
		}
		// rename replaces the name itself: a link planted meanwhile is
		// replaced, never followed.
		if err := unix.Renameat(dfd, tmp, dfd, f.Name); err != nil {
			return err
		}
		done = true
		return nil
	}
}

// openAppendNoFollow opens root/rel/name for appending (created 0644 when
// missing) without following links: the server log that walstep, as root,
// hands to a server or fills with a container's log.
func openAppendNoFollow(root, rel, name string) (*os.File, error) {
	shown := filepath.Join(rel, name)
	dfd, err := openDirNoFollow(root, rel)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", shown, err)
	}
	defer unix.Close(dfd)
	fd, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o644)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || isSymlinkAt(dfd, name) {
			return nil, fmt.Errorf("open %s: it is a symbolic link: %w", shown, ErrLink)
		}
		return nil, fmt.Errorf("open %s: %w", shown, err)
	}
	if err := checkPlain(fd, shown); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open %s: %w", shown, err)
	}
	// Clear O_NONBLOCK (only there so a FIFO cannot block the open).
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open %s: %w", shown, err)
	}
	return os.NewFile(uintptr(fd), filepath.Join(root, shown)), nil
}

// chownTreeNoFollow hands root/rel and everything below it to uid:gid,
// changing links themselves and never descending through one, with each
// directory opened relative to its verified parent: a directory swapped
// for a link while the walk runs is refused, not followed.
func chownTreeNoFollow(root, rel string, uid, gid int) error {
	fd, err := openDirNoFollow(root, rel)
	if err != nil {
		return err
	}
	if err := unix.Fchown(fd, uid, gid); err != nil {
		unix.Close(fd)
		return &os.PathError{Op: "chown", Path: filepath.Join(root, rel), Err: err}
	}
	return chownBelow(fd, filepath.Join(root, rel), uid, gid)
}

// chownBelow chowns the entries of the open directory dfd (and closes it).
func chownBelow(dfd int, path string, uid, gid int) error {
	dir := os.NewFile(uintptr(dfd), path)
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, name := range names {
		p := filepath.Join(path, name)
		if err := unix.Fchownat(dfd, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "chown", Path: p, Err: err}
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "stat", Path: p, Err: err}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		cfd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return &os.PathError{Op: "open", Path: p, Err: err}
		}
		if err := chownBelow(cfd, p, uid, gid); err != nil {
			return err
		}
	}
	return nil
}
