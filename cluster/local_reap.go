package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// groupGoneTimeout bounds the wait for a cancelled command's processes.
const groupGoneTimeout = 10 * time.Second

var subreaperOnce sync.Once

// becomeSubreaper makes walstep the parent of the processes its commands
// leave orphaned (initdb's postgres, when initdb is killed), so it can
// reap them: an init that never reaps (a minimal container's) would keep
// them as zombies whose pids a postmaster.pid still names, and a server
// started there would refuse with "lock file already exists".
func becomeSubreaper() {
	subreaperOnce.Do(func() {
		const prSetChildSubreaper = 36
		_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	})
}

// runCmd runs cmd; when ctx was cancelled, it returns only once every
// process of the command's group is gone, so the next step never meets a
// cancelled step's processes.
func runCmd(ctx context.Context, cmd *exec.Cmd) error {
	err := cmd.Run()
	if ctx != nil && ctx.Err() != nil && cmd.Process != nil {
		if werr := waitGroupGone(cmd.Process.Pid, groupGoneTimeout); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	return err
}

// waitGroupGone kills process group pgid and waits until none of its
// processes runs, reaping those that are walstep's own zombies.
func waitGroupGone(pgid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		alive := groupMembers(pgid)
		if alive == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cancel: %d processes of group %d still run after %s", alive, pgid, timeout)
		}
		<-tick.C
	}
}

// groupMembers counts the live processes of group pgid and reaps the
// group's zombies that walstep is the parent of. Without /proc it asks
// the kernel whether the group exists at all.
func groupMembers(pgid int) int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		if syscall.Kill(-pgid, 0) == nil {
			return 1
		}
		return 0
	}
	self := os.Getpid()
	alive := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces, so parse
		// after its closing parenthesis.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgrp, _ := strconv.Atoi(f[2])
		if pgrp != pgid {
			continue
		}
		if f[0] == "Z" {
			if ppid == self {
				var ws syscall.WaitStatus
				_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
			}
			continue
		}
		alive++
	}
	return alive
}
