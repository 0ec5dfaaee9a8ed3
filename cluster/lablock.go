package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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

// ForceLock ends the session holding the lab when its pid is a live
// walstep, saying so on out, then takes the lock: SIGTERM (with SIGCONT,
// as a stopped holder acts on nothing until continued), so it stops its
// servers and ends what its steps started; SIGKILL after wait, and then
// the processes its commands left (marked with its pid) are ended here.
func (l *Lab) ForceLock(command string, wait time.Duration, out io.Writer) (*LabLock, error) {
	out = orDiscard(out)
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
	how := "asking it to end (SIGTERM)"
	if processStopped(h.PID) {
		how = "it is stopped (SIGSTOP): continuing it and asking it to end (SIGCONT, SIGTERM)"
	}
	fmt.Fprintf(out, "walstep %s holds the lab: %s, SIGKILL after %s\n", h, how, wait)
	_ = syscall.Kill(h.PID, syscall.SIGTERM)
	_ = syscall.Kill(h.PID, syscall.SIGCONT)
	deadline := time.Now().Add(wait)
	killed := false
	for {
		k, err := l.Lock(command)
		if err == nil || !errors.Is(err, ErrLabInUse) {
			if err == nil {
				l.endHolderLeft(h.PID, out)
			}
			return k, err
		}
		if time.Now().After(deadline) {
			if killed {
				return nil, fmt.Errorf("%w: it did not end after SIGKILL", err)
			}
			fmt.Fprintf(out, "it did not end within %s: killing it (SIGKILL)\n", wait)
			_ = syscall.Kill(h.PID, syscall.SIGKILL)
			killed, deadline = true, time.Now().Add(5*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// endHolderLeft ends what the commands of the ended walstep pid left
// running: a holder killed before it could end them leaves them marked
// with its pid. The lab's servers (a hook may have restarted one) are
// left to clean, which stops them as servers.
func (l *Lab) endHolderLeft(pid int, out io.Writer) {
	prefix := []byte(markVar + "=" + strconv.Itoa(pid) + "-")
	var servers []int
	for _, n := range l.KnownNodes() {
		if pm := PostmasterPID(l.Path(DataDirName(n))); pm > 0 {
			servers = append(servers, pm)
		}
	}
	ended, err := endLeftMatching(-1, func(kv []byte) bool { return bytes.HasPrefix(kv, prefix) }, -1, servers, leftGoneTimeout)
	if len(ended) > 0 {
		fmt.Fprintf(out, "ended %d process(es) its steps had left running: %s\n", len(ended), strings.Join(ended, ", "))
	}
	if err != nil {
		fmt.Fprintf(out, "walstep: %v\n", err)
	}
}

// processStopped reports whether pid is stopped (SIGSTOP, Ctrl-Z).
func processStopped(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && (s[i+2] == 'T' || s[i+2] == 't')
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
