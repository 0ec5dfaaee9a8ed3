package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// leftGoneTimeout bounds the wait for the processes a command left.
const leftGoneTimeout = 10 * time.Second

// leftTermGrace is how long a left process has to end on SIGTERM before
// it gets SIGKILL.
const leftTermGrace = time.Second

// outputGrace bounds the wait for a command's output once it and what it
// left have ended: a process walstep keeps (a server a hook started) may
// hold the pipe.
const outputGrace = 2 * time.Second

// markVar marks every process of one command through its environment:
// descendants inherit it, also those that leave the command's session
// (setsid) or are re-parented (a daemon's double fork), so walstep finds
// them all when the command ends.
const markVar = "WALSTEP_CMD"

var subreaperOnce sync.Once

// becomeSubreaper makes walstep the parent of the processes its commands
// leave orphaned (a hook's daemon, initdb's postgres when initdb is
// killed), so it can reap them once it has ended them: an init that never
// reaps (a minimal container's) would keep them as zombies whose pids a
// postmaster.pid still names, and a server started there would refuse
// with "lock file already exists".
func becomeSubreaper() {
	subreaperOnce.Do(func() {
		const prSetChildSubreaper = 36
		_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	})
}

// runCmd runs cmd (made by command, so in a session of its own) and,
// once it has exited or been cancelled, ends every process it left: those
// of its session and those carrying its mark, but not the lab's servers
// and theirs. It returns once none of them runs. The output goes through a
// pipe walstep owns, so a daemon holding it cannot keep the command from
// ending: exec would wait for every holder of its own pipe (and fail with
// WaitDelay expired), this one closes when they are ended.
func (l *Local) runCmd(ctx context.Context, cmd *exec.Cmd) error {
	mark := markVar + "=" + strconv.Itoa(os.Getpid()) + "-" + randHex(6)
	cmd.Env = append(cmd.Env, mark)
	out := orDiscard(cmd.Stdout)
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("make output pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := startRegistered(cmd); err != nil {
		pr.Close()
		pw.Close()
		return err
	}
	pw.Close()
	copied := make(chan struct{})
	go func() { // joined below
		_, _ = io.Copy(out, pr)
		close(copied)
	}()
	err = cmd.Wait()
	forgetStarted(cmd.Process.Pid)
	uid := -1
	if l.runAs != nil {
		uid = int(l.runAs.Uid)
	}
	ended, lerr := endLeft(cmd.Process.Pid, []byte(mark), uid, l.serverPIDs(), leftGoneTimeout)
	t := time.NewTimer(outputGrace)
	select {
	case <-copied:
	case <-t.C:
		pr.Close()
		<-copied
	}
	t.Stop()
	pr.Close()
	if len(ended) > 0 {
		fmt.Fprintf(out, "ended %d process(es) it left running: %s\n", len(ended), strings.Join(ended, ", "))
	}
	return errors.Join(err, lerr)
}

// serverPIDs lists the postmasters of the lab's data dirs: a hook may
// restart a server (pg_ctl restart), and that one stays for walstep to
// stop as it stops the others.
func (l *Local) serverPIDs() []int {
	var pids []int
	for _, n := range l.lab.KnownNodes() {
		if pid := PostmasterPID(l.DataDir(n)); pid > 0 {
			pids = append(pids, pid)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.procs {
		if !p.exited() {
			pids = append(pids, p.cmd.Process.Pid)
		}
	}
	return pids
}

// proc is what the sweep reads of one process from /proc/PID/stat.
type proc struct {
	pid, ppid, sid int
	comm           string
	zombie         bool
}

// readProcs lists the processes in /proc.
func readProcs() ([]proc, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var ps []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // ended meanwhile
		}
		// pid (comm) state ppid pgrp session ...: comm may hold spaces
		// and parentheses, so parse after the last ')'.
		s := string(b)
		i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if i < 0 || j < i {
			continue
		}
		f := strings.Fields(s[j+1:])
		if len(f) < 4 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		sid, _ := strconv.Atoi(f[3])
		ps = append(ps, proc{pid: pid, ppid: ppid, sid: sid, comm: s[i+1 : j], zombie: f[0] == "Z" || f[0] == "X"})
	}
	return ps, nil
}

// hasMark reports whether process pid started with an environment entry
// marked matches.
func hasMark(pid int, marked func(kv []byte) bool) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if marked(kv) {
			return true
		}
	}
	return false
}

// endLeft ends the processes of session sid, those whose environment
// holds mark and walstep's orphans owned by orphanUID (see orphans; -1:
// none), except keep and their descendants: SIGTERM, then SIGKILL
// once leftTermGrace has passed. It reaps those re-parented to walstep and returns
// once none runs (their names and pids, for the user), or an error after
// timeout.
func endLeft(sid int, mark []byte, orphanUID int, keep []int, timeout time.Duration) ([]string, error) {
	return endLeftMatching(sid, func(kv []byte) bool { return bytes.Equal(kv, mark) }, orphanUID, keep, timeout)
}

// endLeftMatching is endLeft with the mark an environment entry matches.
func endLeftMatching(sid int, marked func(kv []byte) bool, orphanUID int, keep []int, timeout time.Duration) ([]string, error) {
	self := os.Getpid()
	deadline := time.Now().Add(timeout)
	killAt := time.Now().Add(leftTermGrace)
	termed := map[int]bool{}
	var ended []string
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ps, err := readProcs()
		if err != nil {
			// Without /proc only the session's group can be found.
			if sid > 0 {
				_ = syscall.Kill(-sid, syscall.SIGKILL)
			}
			return ended, err
		}
		kept := keptTree(ps, keep)
		orphaned := orphans(ps, orphanUID)
		alive := 0
		for _, p := range ps {
			if p.pid == self || kept[p.pid] || (p.sid != sid && !orphaned[p.pid] && !hasMark(p.pid, marked)) {
				continue
			}
			if p.zombie {
				if p.ppid == self {
					var ws syscall.WaitStatus
					_, _ = syscall.Wait4(p.pid, &ws, syscall.WNOHANG, nil)
				}
				continue
			}
			alive++
			if !termed[p.pid] {
				termed[p.pid] = true
				ended = append(ended, fmt.Sprintf("%s (pid %d)", p.comm, p.pid))
			}
			// Once the grace has passed, newcomers (a loop respawning
			// what ignores SIGTERM) get SIGKILL at once.
			if time.Now().After(killAt) {
				_ = syscall.Kill(p.pid, syscall.SIGKILL)
				continue
			}
			_ = syscall.Kill(p.pid, syscall.SIGTERM)
			// A stopped process acts on SIGTERM only once continued.
			_ = syscall.Kill(p.pid, syscall.SIGCONT)
		}
		if alive == 0 {
			return ended, nil
		}
		if time.Now().After(deadline) {
			return ended, fmt.Errorf("end the processes it left: %d still run after %s", alive, timeout)
		}
		<-tick.C
	}
}

// keptTree returns keep and all their descendants in ps.
func keptTree(ps []proc, keep []int) map[int]bool {
	kept := map[int]bool{}
	for _, k := range keep {
		kept[k] = true
	}
	for grew := len(keep) > 0; grew; {
		grew = false
		for _, p := range ps {
			if !kept[p.pid] && kept[p.ppid] {
				kept[p.pid] = true
				grew = true
			}
		}
	}
	return kept
}
