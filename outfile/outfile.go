package outfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// Mode is the permission of every file written here: a transcript or a
// report can hold what the user would not publish.
const Mode = 0o600

// ErrExists is returned for a path that is already there when replacing
// was not asked for.
var ErrExists = errors.New("file exists")

// existsError says what is in the way; it is ErrExists.
type existsError struct{ path, what string }

func (e existsError) Error() string {
	if e.what != "" {
		return fmt.Sprintf("%s exists%s: choose another name", e.path, e.what)
	}
	return fmt.Sprintf("%s exists: pass --force to replace it, or choose another name", e.path)
}

func (e existsError) Unwrap() error { return ErrExists }

// File is a file being written. Writes after the first failure are
// dropped; Err and Close return that failure.
type File struct {
	mu   sync.Mutex
	f    *os.File
	path string
	err  error
}

// Create makes a new file at path for writing as it goes (a transcript,
// a recording). Without replace a path that exists in any form is refused.
// With replace an existing regular file is replaced by a new one (a fresh
// file renamed into its place, so the old inode, its mode and any other
// link to it are untouched); a link, FIFO, device or directory there is
// refused either way.
func Create(path string, replace bool) (*File, error) {
	if !replace {
		f, err := openNew(path)
		if err != nil {
			return nil, err
		}
		return &File{f: f, path: path}, nil
	}
	if err := checkReplaceable(path); err != nil {
		return nil, err
	}
	f, tmp, err := openTemp(path)
	if err != nil {
		return nil, err
	}
	if err := checkReplaceable(path); err != nil {
		f.Close()
		_ = os.Remove(tmp)
		return nil, err
	}
	// rename replaces the directory entry; it never follows a link put
	// there meanwhile, and fails on a directory.
	if err := os.Rename(tmp, path); err != nil {
		f.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("replace %s: %w", path, err)
	}
	return &File{f: f, path: path}, nil
}

// WriteFile writes data as the whole file at path: a new file, or with
// replace a regular file replaced only once data is written in full, so a
// full disk leaves the old file as it was. A new file that could not be
// written in full is removed.
func WriteFile(path string, data []byte, replace bool) error {
	if !replace {
		f, err := openNew(path)
		if err != nil {
			return err
		}
		w := &File{f: f, path: path}
		_, _ = w.Write(data)
		if err := w.Close(); err != nil {
			_ = os.Remove(path)
			return err
		}
		return nil
	}
	if err := checkReplaceable(path); err != nil {
		return err
	}
	f, tmp, err := openTemp(path)
	if err != nil {
		return err
	}
	w := &File{f: f, path: path}
	_, _ = w.Write(data)
	if err := w.Close(); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := checkReplaceable(path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}

// Check says before any work is done whether Create or WriteFile would
// refuse path: it exists and replace is off, it is not a regular file, or
// its directory is missing.
func Check(path string, replace bool) error {
	st, err := os.Lstat(path)
	switch {
	case err == nil && !replace:
		what := ""
		if !st.Mode().IsRegular() {
			what = " as " + kind(st.Mode())
		}
		return existsError{path: path, what: what}
	case err == nil:
		if err := checkReplaceable(path); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("check %s: %w", path, err)
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
		return fmt.Errorf("%s: no directory %s to write it in", path, filepath.Dir(path))
	}
	return nil
}

// Write writes p whole or records why not; a short write is an error.
func (w *File) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if w.f == nil {
		return 0, fmt.Errorf("write %s: %w", w.path, os.ErrClosed)
	}
	n, err := w.f.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("write %s: %w (it holds the first %d bytes written)", w.path, bare(err), w.written())
		return n, w.err
	}
	return n, nil
}

// WriteString is Write for a string.
func (w *File) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// written is the file's size so far, for the error line.
func (w *File) written() int64 {
	if st, err := w.f.Stat(); err == nil {
		return st.Size()
	}
	return 0
}

// Err is the first write failure, nil when there was none.
func (w *File) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Name is the path the file was created at.
func (w *File) Name() string { return w.path }

// Stat describes the open file (to check it is still at its path).
func (w *File) Stat() (os.FileInfo, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil, os.ErrClosed
	}
	return w.f.Stat()
}

// Close flushes the file to disk and closes it: a disk that filled up
// after the writes were accepted fails here. It returns the first error of
// the file's life; closing again returns it again.
func (w *File) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return w.err
	}
	if err := w.f.Sync(); err != nil && w.err == nil {
		w.err = fmt.Errorf("write %s: %w", w.path, bare(err))
	}
	if err := w.f.Close(); err != nil && w.err == nil {
		w.err = fmt.Errorf("write %s: %w", w.path, bare(err))
	}
	w.f = nil
	return w.err
}

// bare drops the path an *os.File's error repeats.
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// openNew creates path, which must not exist in any form: O_EXCL refuses
// a link (even a dangling one), O_NONBLOCK keeps a FIFO from blocking.
func openNew(path string) (*os.File, error) {
	f, err := openFile(path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC)
	if errors.Is(err, fs.ErrExist) {
		what := ""
		if st, lerr := os.Lstat(path); lerr == nil && !st.Mode().IsRegular() {
			what = " as " + kind(st.Mode())
		}
		return nil, existsError{path: path, what: what}
	}
	return f, err
}

// openTemp creates a new file next to path, to be renamed onto it.
func openTemp(path string) (*os.File, string, error) {
	dir, base := filepath.Split(path)
	for range 10 {
		var r [6]byte
		_, _ = rand.Read(r[:])
		tmp := filepath.Join(dir, "."+base+".walstep-"+hex.EncodeToString(r[:]))
		f, err := openFile(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return f, tmp, nil
	}
	return nil, "", fmt.Errorf("create a file next to %s: ten names taken", path)
}

// openFile opens with flags and checks what it got is a regular file with
// exactly Mode (the umask may have narrowed it).
func openFile(path string, flags int) (*os.File, error) {
	fd, err := unix.Open(path, flags, Mode)
	if err != nil {
		return nil, &fs.PathError{Op: "create", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "create", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, fmt.Errorf("create %s: not a regular file, left as it is", path)
	}
	if err := unix.Fchmod(fd, Mode); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "chmod", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// checkReplaceable refuses replacing anything but a regular file.
func checkReplaceable(path string) error {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("check %s: %w", path, err)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s is %s, not a regular file: left as it is (choose another name)", path, kind(st.Mode()))
	}
	return nil
}

// kind names what a non-regular directory entry is.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return "not a regular file"
}
