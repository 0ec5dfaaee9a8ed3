package cluster

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// walstep is a child subreaper, so a process whose parent ended while its
// command ran becomes walstep's child. One that also cleared its
// environment (env -i) and left the session (setsid) carries no mark of
// its command; it is still recognisable as an orphan: a child of walstep
// in a session of its own that walstep did not start. The commands walstep
// starts in sessions of their own (servers, runCmd) are registered here,
// and a sweep checks the registry while no such start is half done.
var (
	forkMu  sync.RWMutex // held shared by a start, exclusively by a check
	startMu sync.Mutex   // guards started
	started = map[int]bool{}
)

// startRegistered starts cmd and registers its pid until forgetStarted.
func startRegistered(cmd *exec.Cmd) error {
	forkMu.RLock()
	defer forkMu.RUnlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	startMu.Lock()
	started[cmd.Process.Pid] = true
	startMu.Unlock()
	return nil
}

// forgetStarted drops pid (waited for) from the registry.
func forgetStarted(pid int) {
	startMu.Lock()
	delete(started, pid)
	startMu.Unlock()
}

// orphans returns those of ps that are walstep's children owned by uid in
// a session other than walstep's that walstep did not start, carrying no
// command's mark and in no running command's session (that command ends
// those itself; in explore it may be another lab's, still running). Not
// servers (named postgres: a hook may start one with pg_ctl, this lab's
// or another's; they are stopped as servers). Only the server user's
// processes count (uid, when walstep runs as root): walstep's own user
// may leave a daemon to walstep on purpose (a tmux started from the
// debugger's shell).
func orphans(ps []proc, uid int) map[int]bool {
	if uid < 0 {
		return nil
	}
	self := os.Getpid()
	own, err := unix.Getsid(0)
	if err != nil {
		return nil
	}
	var cand []int
	sids := map[int]int{}
	for _, p := range ps {
		if p.ppid != self || p.sid == own || p.comm == "postgres" {
			continue
		}
		if fi, err := os.Stat("/proc/" + strconv.Itoa(p.pid)); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid {
				cand = append(cand, p.pid)
				sids[p.pid] = p.sid
			}
		}
	}
	if len(cand) == 0 {
		return nil
	}
	forkMu.Lock()
	defer forkMu.Unlock()
	startMu.Lock()
	defer startMu.Unlock()
	out := map[int]bool{}
	for _, pid := range cand {
		if !started[pid] && !started[sids[pid]] && !hasMark(pid, anyMark) {
			out[pid] = true
		}
	}
	return out
}

// anyMark matches any command's mark.
func anyMark(kv []byte) bool { return bytes.HasPrefix(kv, []byte(markVar+"=")) }
