package cluster

import (
	"context"
	"fmt"
	"io"
	"time"
)

// shutdownGrace is how long a fast shutdown may go without a new server
// log line before walstep escalates to an immediate shutdown. A fast
// shutdown of the lab's small servers takes well under a second here
// (bench/README.md); a PostgreSQL 17 standby whose WAL receiver waits
// ahead of the primary never finishes one, and used to cost the whole
// stop timeout.
const shutdownGrace = 5 * time.Second

// awaitFastShutdown waits for done while the server makes progress toward
// stopping. It returns false, to escalate, once a grace window passes with
// no new output in the server's log (logSize) or limit passes in all.
func awaitFastShutdown(ctx context.Context, done <-chan struct{}, limit time.Duration, logSize func() int64) (bool, error) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	grace := time.NewTicker(min(shutdownGrace, limit))
	defer grace.Stop()
	last := logSize()
	for {
		select {
		case <-done:
			return true, nil
		case <-ctx.Done():
			return false, ctx.Err()
		case <-deadline.C:
			return false, nil
		case <-grace.C:
			n := logSize()
			if n == last {
				return false, nil
			}
			last = n
		}
	}
}

// noteImmediate says that a server needed an immediate shutdown.
func noteImmediate(out, warn io.Writer, node Node) {
	noteLine(out, warn, fmt.Sprintf("%s made no progress in its fast shutdown for %s: immediate shutdown (SIGQUIT); it runs crash recovery at its next start", node, shutdownGrace))
}

// noteLine writes line to out and, when it is another writer, to warn.
func noteLine(out, warn io.Writer, line string) {
	fmt.Fprintln(out, line)
	if warn != out {
		fmt.Fprintln(warn, "walstep: "+line)
	}
}
