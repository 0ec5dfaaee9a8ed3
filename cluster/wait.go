package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
)

// PollInterval is how often waits re-check their condition; short, because
// every wait rounds up to a tick and the steps are short themselves.
var PollInterval = 25 * time.Millisecond

// ErrTimeout marks a wait whose deadline passed.
var ErrTimeout = errors.New("deadline passed")

// Until re-checks cond every PollInterval until it returns true, returns an
// error, or timeout passes; what names the condition in the error.
func Until(ctx context.Context, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	for {
		ok, err := cond(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("wait for %s: %w after %s", what, ErrTimeout, timeout)
			}
			return fmt.Errorf("wait for %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// Connect opens a short-lived connection with a short connect timeout.
func Connect(ctx context.Context, connString string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("parse conn string: %w", err)
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > 2*time.Second {
		cfg.ConnectTimeout = 2 * time.Second
	}
	next := cfg.DialFunc
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if network == "unix" {
			return dialUnix(ctx, addr)
		}
		return next(ctx, network, addr)
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// QueryRow runs one query on a fresh connection and scans one row.
func QueryRow(ctx context.Context, connString, sql string, dest ...any) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := Connect(ctx, connString)
	if err != nil {
		return err
	}
	defer Disconnect(c)
	return c.QueryRow(ctx, sql).Scan(dest...)
}

// Readiness is how a wait for a server ended.
type Readiness int

// Readiness values.
const (
	Accepting Readiness = iota // the server accepts connections
	Exited                     // the server process exited
)

// Observation is what a server shows without being touched: its process or
// container state and its postmaster.pid.
type Observation struct {
	Proc ProcState
	PM   PostmasterFile
}

// Observe reads node's process state and postmaster.pid; no connection.
func Observe(ctx context.Context, b Backend, node Node) (Observation, error) {
	st, err := b.State(ctx, node)
	if err != nil || !st.Running {
		return Observation{Proc: st}, err
	}
	pm, err := b.Postmaster(ctx, node)
	return Observation{Proc: st, PM: pm}, err
}

// WaitReady waits until node's server says it accepts connections (its
// postmaster.pid status is ready, as pg_ctl -w waits) or its process exits
// (a replica shutting down at its recovery target). It never connects: a
// connection attempt while a server starts leaves a FATAL line in its log.
func WaitReady(ctx context.Context, b Backend, node Node, timeout time.Duration) (Readiness, ProcState, error) {
	var res Readiness
	var last ProcState
	err := Until(ctx, timeout, string(node)+" to accept connections or exit", func(ctx context.Context) (bool, error) {
		o, err := Observe(ctx, b, node)
		if err != nil {
			return false, err
		}
		last = o.Proc
		if !o.Proc.Running {
			res = Exited
			return true, nil
		}
		if o.PM.Accepting() {
			res = Accepting
			return true, nil
		}
		return false, nil
	})
	return res, last, err
}

// WaitExited waits until node's server process has exited.
func WaitExited(ctx context.Context, b Backend, node Node, timeout time.Duration) (ProcState, error) {
	var last ProcState
	err := Until(ctx, timeout, string(node)+" to shut down", func(ctx context.Context) (bool, error) {
		st, err := b.State(ctx, node)
		last = st
		return err == nil && !st.Running, err
	})
	return last, err
}

// WaitPromoted waits until node's server is out of recovery. It asks
// pg_is_in_recovery(), which cannot fail, and only while the server's
// postmaster.pid says it accepts connections. stuck, called while the
// server is still in recovery, returns an error when waiting cannot help
// (replay paused at the end of recovery, say).
func WaitPromoted(ctx context.Context, b Backend, node Node, timeout time.Duration, stuck func(ctx context.Context) error) error {
	return Until(ctx, timeout, string(node)+" to leave recovery (promote)", func(ctx context.Context) (bool, error) {
		o, err := Observe(ctx, b, node)
		if err != nil {
			return false, err
		}
		if !o.Proc.Running {
			return false, fmt.Errorf("%s exited (%s) instead of promoting: see its log", node, o.Proc.Detail)
		}
		if !o.PM.Accepting() {
			return false, nil
		}
		var inRec bool
		if QueryRow(ctx, b.ConnString(node), "select pg_is_in_recovery()", &inRec) != nil {
			return false, nil
		}
		if !inRec {
			return true, nil
		}
		if stuck != nil {
			return false, stuck(ctx)
		}
		return false, nil
	})
}
