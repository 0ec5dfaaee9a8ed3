package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

// Postmaster statuses: line 8 of postmaster.pid, what pg_ctl -w waits on.
// "ready" says nothing about recovery: a hot standby is ready too.
const (
	PMStarting = "starting" // not accepting connections yet
	PMStopping = "stopping" // shutting down
	PMReady    = "ready"    // accepting connections (read-only ones in hot standby)
	PMStandby  = "standby"  // up in recovery, accepting no connections (hot_standby = off)
)

// PostmasterFile is what a live postmaster publishes in its data dir's
// postmaster.pid. Reading it costs the server nothing, where a connection
// attempt during start-up leaves "the database system is starting up" in
// the log a user is reading.
type PostmasterFile struct {
	PID    int
	Start  int64 // the postmaster's start time, Unix seconds
	Port   int
	Status string // PMStarting, PMStopping, PMReady, PMStandby; "" when not written yet
	// SocketDir is the first unix socket directory as the server was
	// given it (relative ones are relative to the data dir); "" for none.
	SocketDir string
}

// Accepting reports whether the server says it accepts connections.
func (p PostmasterFile) Accepting() bool { return p.Status == PMReady }

// ParsePostmasterFile reads postmaster.pid's lines (pid, data dir, start
// time, port, socket dir, listen address, shared memory key, status).
func ParsePostmasterFile(b []byte) (PostmasterFile, bool) {
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return PostmasterFile{}, false
	}
	var p PostmasterFile
	var err error
	if p.PID, err = strconv.Atoi(strings.TrimSpace(lines[0])); err != nil || p.PID <= 0 {
		return PostmasterFile{}, false
	}
	p.Start, _ = strconv.ParseInt(strings.TrimSpace(lines[2]), 10, 64)
	p.Port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
	if len(lines) >= 5 {
		p.SocketDir = strings.TrimSpace(lines[4])
	}
	if len(lines) >= 8 {
		p.Status = strings.TrimSpace(lines[7])
	}
	return p, true
}

// Postmaster implements Backend: the postmaster.pid of the server this
// backend runs (or one an earlier session left running), or the zero value
// when no live server has written one.
func (l *Local) Postmaster(ctx context.Context, node Node) (PostmasterFile, error) {
	st, err := l.State(ctx, node)
	if err != nil || !st.Running {
		return PostmasterFile{}, err
	}
	b, err := ReadBelow(ctx, l.DataDir(node), "postmaster.pid", maxPidFile)
	if errors.Is(err, fs.ErrNotExist) {
		return PostmasterFile{}, nil // not written yet
	}
	if err != nil {
		return PostmasterFile{}, fmt.Errorf("read postmaster.pid: %w", err)
	}
	p, ok := ParsePostmasterFile(b)
	if !ok || p.PID != l.runningPID(node) {
		// Half written, or a crashed server's stale file that the new
		// postmaster has not replaced yet.
		return PostmasterFile{}, nil
	}
	return p, nil
}

// runningPID is the pid of node's live postmaster, or 0.
func (l *Local) runningPID(node Node) int {
	l.mu.Lock()
	p := l.procs[node]
	l.mu.Unlock()
	if p != nil && !p.exited() {
		return p.cmd.Process.Pid
	}
	return PostmasterPID(l.DataDir(node))
}

// Postmaster implements Backend: the running container's postmaster.pid,
// read through the data dir's mount where the host may read it, else by
// an exec in the container.
func (d *Docker) Postmaster(ctx context.Context, node Node) (PostmasterFile, error) {
	insp, err := d.inspectOwn(ctx, d.ContainerName(node))
	if err != nil || insp == nil || insp.State == nil || !insp.State.Running {
		return PostmasterFile{}, err
	}
	b, err := ReadBelow(ctx, d.DataDir(node), "postmaster.pid", maxPidFile)
	if errors.Is(err, fs.ErrPermission) {
		// As the container's postgres, bounded like every read there: a
		// FIFO put in its place would block cat.
		var buf bytes.Buffer
		cctx, cancel := context.WithTimeout(ctx, ReadTimeout)
		defer cancel()
		if d.execIn(cctx, insp.ID, "postgres", []string{"sh", "-c", "head -c 4096 " + containerData + "/postmaster.pid 2>/dev/null || true"}, &buf) != nil {
			return PostmasterFile{}, nil
		}
		b, err = buf.Bytes(), nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return PostmasterFile{}, nil
	}
	if err != nil {
		return PostmasterFile{}, fmt.Errorf("read postmaster.pid: %w", err)
	}
	p, ok := ParsePostmasterFile(b)
	if !ok {
		return PostmasterFile{}, nil
	}
	// A crashed server leaves its file behind: it is this container's only
	// if written since the container started.
	if started, err := time.Parse(time.RFC3339Nano, insp.State.StartedAt); err == nil && p.Start < started.Unix()-1 {
		return PostmasterFile{}, nil
	}
	return p, nil
}
