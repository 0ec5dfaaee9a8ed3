package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"walstep/untrusted"
)

// LockFile holds the pid and start time of the walstep session that uses a
// lab; the session holds an flock on it for its whole life, so the lock
// ends with the process, however it ends.
const LockFile = ".walstep-lock"

// LabLock is a held lab lock; Release ends it.
type LabLock struct {
	f *os.File
}

// ErrLabInUse is returned by Lock when another session holds the lab.
var ErrLabInUse = errors.New("lab in use")

// LockHolder is what a lock file says about its holder.
type LockHolder struct {
	PID     int
	Since   time.Time
	Command string
}

// Lock takes the lab's lock for this process, or refuses with who holds
// it. command names the session for the refusal another one sees ("run",
// "the debugger", "clean").
func (l *Lab) Lock(command string) (*LabLock, error) {
	p := filepath.Join(l.Dir, LockFile)
	// O_NOFOLLOW: the lab is the user's, but a link here is never ours.
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock lab %s: %w", l.Dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			h := l.Holder()
			return nil, fmt.Errorf("%w by walstep %s: wait for it to end, or run `walstep clean --force --lab %s`", ErrLabInUse, h, quoteArg(l.Dir))
		}
		return nil, fmt.Errorf("lock lab %s: %w", l.Dir, err)
	}
	content := fmt.Sprintf("%d\n%s\n%s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339), command)
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(content), 0)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock lab %s: %w", l.Dir, err)
		}
	}
	return &LabLock{f: f}, nil
}

// Holder reads the lock file (pid, start time, command); zero when absent.
func (l *Lab) Holder() LockHolder {
	var h LockHolder
	b, err := os.ReadFile(filepath.Join(l.Dir, LockFile))
	if err != nil {
		return h
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) > 0 {
		h.PID, _ = strconv.Atoi(strings.TrimSpace(lines[0]))
	}
	if len(lines) > 1 {
		h.Since, _ = time.Parse(time.RFC3339, strings.TrimSpace(lines[1]))
	}
	if len(lines) > 2 {
		h.Command = strings.TrimSpace(lines[2])
	}
	return h
}

// String is "pid N (run) since 2006-01-02 15:04:05 UTC".
func (h LockHolder) String() string {
	s := "pid " + strconv.Itoa(h.PID)
	if h.PID <= 0 {
		s = "pid unknown"
	}
	if c := untrusted.Text(h.Command); c != "" {
		if r := []rune(c); len(r) > 60 {
			c = string(r[:57]) + "…"
		}
		s += " (" + c + ")"
	}
	if !h.Since.IsZero() {
		s += " since " + h.Since.Local().Format("2006-01-02 15:04:05 MST")
	}
	return s
}

// Release ends the lock. The file stays (removing it would let a third
// session lock a new file while a second still waits on the old one).
func (k *LabLock) Release() error {
	if k == nil || k.f == nil {
		return nil
	}
	err := k.f.Close()
	k.f = nil
	return err
}

// ForceLock ends the session holding the lab (SIGTERM, then SIGKILL after
// wait) when its pid is a live walstep, then takes the lock.
func (l *Lab) ForceLock(command string, wait time.Duration) (*LabLock, error) {
	k, err := l.Lock(command)
	if err == nil || !errors.Is(err, ErrLabInUse) {
		return k, err
	}
	h := l.Holder()
	if h.PID <= 0 || h.PID == os.Getpid() {
		return nil, err
	}
	if !isWalstep(h.PID) {
		return nil, fmt.Errorf("%w, and pid %d is not a walstep: end it yourself", err, h.PID)
	}
	deadline := time.Now().Add(wait)
	_ = syscall.Kill(h.PID, syscall.SIGTERM)
	killed := false
	for {
		k, err := l.Lock(command)
		if err == nil || !errors.Is(err, ErrLabInUse) {
			return k, err
		}
		if time.Now().After(deadline) {
			if killed {
				return nil, fmt.Errorf("%w: it did not end after SIGKILL", err)
			}
			_ = syscall.Kill(h.PID, syscall.SIGKILL)
			killed, deadline = true, time.Now().Add(5*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// isWalstep reports whether pid runs a program named walstep (or a test
// binary of walstep's, whose name ends in .test).
func isWalstep(pid int) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false
	}
	base := strings.TrimSuffix(filepath.Base(exe), " (deleted)")
	return strings.Contains(base, "walstep") || strings.HasSuffix(base, ".test")
}

// quoteArg quotes a path for a shell when it needs it.
func quoteArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"$&|;<>()*?\\`") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
