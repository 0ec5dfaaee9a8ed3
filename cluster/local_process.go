package cluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Start implements Backend: launches postgres with its output appended to
// logs/<node>.log. It does not wait for readiness.
func (l *Local) Start(ctx context.Context, node Node, out io.Writer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.procs[node]; p != nil && !p.exited() {
		fmt.Fprintf(out, "%s is already running (pid %d)\n", node, p.cmd.Process.Pid)
		return nil
	}
	if pid := PostmasterPID(l.DataDir(node)); pid > 0 {
		// Started by hand, by a hook or the shell, or by an earlier
		// session: the lab's server all the same.
		fmt.Fprintf(out, "%s is already running (pid %d, not started by this session)\n", node, pid)
		return nil
	}
	if _, err := StatBelow(ctx, l.DataDir(node), "PG_VERSION"); err != nil {
		return fmt.Errorf("start %s: %s holds no database (run the steps that create it first)", node, l.DataDir(node))
	}
	if err := l.prepareDirs(l.lab.Path(LogsDir), l.ConfigDir(node), l.homeDir); err != nil {
		return err
	}
	if err := l.prepareSocketDir(); err != nil {
		return err
	}
	if err := l.linkConfig(node); err != nil {
		return err
	}
	if ln, err := net.Listen("tcp", l.Addr(node)); err != nil {
		return fmt.Errorf("start %s: port %d on 127.0.0.1 is in use: free it or run walstep again (it picks new free ports)", node, l.ports[node])
	} else {
		ln.Close()
	}
	// logs/ is the server user's: open without following a link there.
	logf, err := openAppendNoFollow(l.lab.Dir, LogsDir, string(node)+".log")
	if err != nil {
		return fmt.Errorf("start %s: %w", node, err)
	}
	if l.runAs != nil {
		// The server user's own file, so a server the user starts with
		// pg_ctl -l logs/<node>.log (by hand, in a hook) logs where
		// walstep reads.
		if err := logf.Chown(int(l.runAs.Uid), int(l.runAs.Gid)); err != nil {
			logf.Close()
			return fmt.Errorf("start %s: hand the log to postgres: %w", node, err)
		}
	}
	argv := []string{l.bin("postgres"), "-D", l.DataDir(node),
		"-c", "port=" + strconv.Itoa(l.ports[node]),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + socketDirFromData,
	}
	fmt.Fprintf(out, "$ %s\n", strings.Join(argv, " "))
	cmd := l.command(nil, node, true, argv, logf)
	if err := startRegistered(cmd); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", node, err)
	}
	p := &localProc{cmd: cmd, done: make(chan struct{})}
	l.procs[node] = p
	go func() { // owned by the backend: ends when the server exits
		err := cmd.Wait()
		forgetStarted(cmd.Process.Pid)
		logf.Close()
		p.err = err
		p.code = cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	fmt.Fprintf(out, "%s started (pid %d) on %s\n", node, cmd.Process.Pid, l.Addr(node))
	return nil
}

func (p *localProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop implements Backend: a fast shutdown (SIGINT), escalated to an
// immediate one (SIGQUIT) when the server makes no progress toward
// stopping, and to SIGKILL when the timeout passes.
func (l *Local) Stop(ctx context.Context, node Node, out io.Writer) error {
	return l.stop(ctx, node, out, out)
}

// stop is Stop with the escalation lines written to warn as well as out.
// The server stopped is the lab's live postmaster, whoever started it.
func (l *Local) stop(ctx context.Context, node Node, out, warn io.Writer) error {
	l.mu.Lock()
	p := l.procs[node]
	l.mu.Unlock()
	if p == nil || p.exited() {
		pid := PostmasterPID(l.DataDir(node))
		if pid <= 0 {
			fmt.Fprintf(out, "%s is not running\n", node)
			return nil
		}
		fmt.Fprintf(out, "stopping %s (pid %d, not started by this session; fast shutdown)\n", node, pid)
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		return l.stopServer(ctx, node, pid, watchExit(wctx, pid), out, warn)
	}
	pid := p.cmd.Process.Pid
	fmt.Fprintf(out, "stopping %s (pid %d, fast shutdown)\n", node, pid)
	return l.stopServer(ctx, node, pid, p.done, out, warn)
}

// stopServer shuts postmaster pid down; done closes once it has exited.
func (l *Local) stopServer(ctx context.Context, node Node, pid int, done <-chan struct{}, out, warn io.Writer) error {
	_ = syscall.Kill(pid, syscall.SIGINT)
	logSize := func() int64 {
		fi, err := StatBelow(context.Background(), l.lab.Path(LogsDir), filepath.Base(l.LogPath(node)))
		if err != nil {
			return -1
		}
		return fi.Size
	}
	kill := func() {
		// pg_ctl starts a postmaster in a session of its own, as walstep
		// does: its group is its alone, else only the postmaster is killed.
		if pg, err := syscall.Getpgid(pid); err == nil && pg == pid {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		} else {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	stopped, err := awaitFastShutdown(ctx, done, l.stopTO, logSize)
	if err != nil {
		kill()
		<-done
		return fmt.Errorf("stop %s: %w (killed)", node, err)
	}
	if stopped {
		fmt.Fprintf(out, "%s stopped\n", node)
		return nil
	}
	noteImmediate(out, warn, node)
	_ = syscall.Kill(pid, syscall.SIGQUIT)
	t := time.NewTimer(l.stopTO)
	defer t.Stop()
	select {
	case <-done:
		fmt.Fprintf(out, "%s stopped (immediate shutdown)\n", node)
		return nil
	case <-ctx.Done():
		kill()
		<-done
		return fmt.Errorf("stop %s: %w (killed)", node, ctx.Err())
	case <-t.C:
		noteLine(out, warn, fmt.Sprintf("%s did not stop in %s, sending SIGKILL", node, l.stopTO))
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	<-done
	return nil
}

// watchExit returns a channel closed once process pid (not walstep's
// child, so not waitable) is gone, or ctx ends.
func watchExit(ctx context.Context, pid int) <-chan struct{} {
	done := make(chan struct{})
	go func() { // ends when the process has gone or ctx ends
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for processAlive(pid) {
			select {
			case <-ctx.Done():
				// The caller's wait is over; a SIGKILL has been sent.
				for i := 0; i < 250 && processAlive(pid); i++ {
					time.Sleep(20 * time.Millisecond)
				}
				return
			case <-tick.C:
			}
		}
	}()
	return done
}

// StopPID stops a postmaster we did not start, by its pid.
func StopPID(ctx context.Context, pid int, to time.Duration) error {
	_ = syscall.Kill(pid, syscall.SIGINT)
	deadline := time.Now().Add(to)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if !processAlive(pid) {
			return nil
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return nil
		}
		select {
		case <-ctx.Done():
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// processAlive reports whether pid runs. A process that exited but was
// not reaped yet (a zombie: a server kept by an earlier session is
// reparented to PID 1, which may reap late or never) counts as gone.
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc: signal 0 is all there is
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2] != 'Z'
	}
	return true
}

// PostmasterPID returns the pid in dataDir/postmaster.pid when that process
// is alive, else 0.
func PostmasterPID(dataDir string) int {
	b, err := ReadBelow(context.Background(), dataDir, "postmaster.pid", maxPidFile)
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0
	}
	if !processAlive(pid) {
		return 0
	}
	// A stale pid file may name a recycled pid, or another cluster's
	// postmaster: the process is ours only if it serves this data dir.
	if !servesDataDir(pid, dataDir) {
		return 0
	}
	return pid
}

// servesDataDir reports whether process pid is a postgres whose data dir
// is dataDir: its working directory (a postmaster changes into its data
// dir) or, when that cannot be read, the -D of its command line.
func servesDataDir(pid int, dataDir string) bool {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return false
	}
	if !strings.HasPrefix(strings.TrimSpace(string(comm)), "postgres") {
		return false
	}
	want, err := filepath.EvalSymlinks(dataDir)
	if err != nil {
		return false
	}
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil {
		return cwd == want
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	for i, a := range args {
		d := ""
		switch {
		case a == "-D" && i+1 < len(args):
			d = args[i+1]
		case strings.HasPrefix(a, "-D") && len(a) > 2:
			d = a[2:]
		default:
			continue
		}
		if real, err := filepath.EvalSymlinks(d); err == nil && real == want {
			return true
		}
	}
	return false
}

// State implements Backend.
func (l *Local) State(_ context.Context, node Node) (ProcState, error) {
	l.mu.Lock()
	p := l.procs[node]
	l.mu.Unlock()
	if p != nil && !p.exited() {
		return ProcState{Exists: true, Running: true, Detail: fmt.Sprintf("pid %d", p.cmd.Process.Pid)}, nil
	}
	// The lab's server is the live postmaster its data dir names, so one
	// started by hand, by a hook or from the shell counts as running.
	if pid := PostmasterPID(l.DataDir(node)); pid > 0 {
		return ProcState{Exists: true, Running: true, Detail: fmt.Sprintf("pid %d (not started by this session)", pid)}, nil
	}
	if p == nil {
		return ProcState{}, nil
	}
	return ProcState{Exists: true, ExitCode: p.code, Detail: exitDetail(p.cmd.ProcessState)}, nil
}

func exitDetail(ps *os.ProcessState) string {
	if ps == nil {
		return "exited"
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("killed by signal %d (%s)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Sprintf("exited with code %d", ps.ExitCode())
}
