package steps

import (
	"context"
	"fmt"
	"io"
	"strings"

	"walstep/cluster"
	"walstep/pg"
)

// WithPanicHints makes each step that fails while a server PANICs say so:
// on a full disk ("could not write to file …: No space left on device") the
// step's own error (a command's exit status, a refused connection) is the
// consequence and the PANIC the cause. A step whose own work succeeded
// while a server PANICked fails too, quoting it: a primary stopped by a
// PANIC in its shutdown checkpoint has not shut down cleanly.
func WithPanicHints(env *Env, all []Step) []Step {
	out := make([]Step, len(all))
	for i, s := range all {
		if run := s.Run; run != nil {
			s.Run = func(ctx context.Context, w io.Writer) error {
				nodes := env.Lab.Topology().Nodes()
				marks := make([]string, len(nodes))
				for j, n := range nodes {
					marks[j] = lastLine(ctx, env.Backend, n)
				}
				err := run(ctx, w)
				if ctx.Err() != nil {
					return err
				}
				if err == nil {
					return panicDuring(ctx, env.Backend, nodes, marks)
				}
				return panicHint(ctx, env.Backend, nodes, marks, err)
			}
		}
		out[i] = s
	}
	return out
}

// panicHint adds to err the first PANIC a server logged after its mark.
func panicHint(ctx context.Context, b cluster.Backend, nodes []cluster.Node, marks []string, err error) error {
	for j, n := range nodes {
		l, ok := firstLine(logSince(ctx, b, n, marks[j]), func(l pg.LogLine) bool { return l.IsProblem() && l.Level == "PANIC" })
		if !ok {
			continue
		}
		msg := pg.StripLogPrefix(l.Raw)
		if strings.Contains(err.Error(), msg) {
			return err
		}
		return fmt.Errorf("%w; %s's log says: %s", err, n.The(), msg)
	}
	return err
}

// panicDuring is an error quoting the first PANIC a server logged after
// its mark, nil when none did.
func panicDuring(ctx context.Context, b cluster.Backend, nodes []cluster.Node, marks []string) error {
	for j, n := range nodes {
		if l, ok := firstLine(logSince(ctx, b, n, marks[j]), func(l pg.LogLine) bool { return l.IsProblem() && l.Level == "PANIC" }); ok {
			return fmt.Errorf("%s PANICked during this step, so it did not do what the step says; its log says: %s", n.The(), pg.StripLogPrefix(l.Raw))
		}
	}
	return nil
}

// archiveFailedMark is how PostgreSQL logs an archive_command that failed.
const archiveFailedMark = "archive command failed"

// reportArchiveFailures says how many archive_command failures the node's
// log holds so far, so a note about earlier failures is checked against
// this lab rather than assumed from the seed.
func reportArchiveFailures(ctx context.Context, b cluster.Backend, node cluster.Node, out io.Writer) {
	lines, err := b.LogTail(ctx, node, 5000)
	if err != nil {
		fmt.Fprintf(out, "could not read %s's log to count archive failures: %v\n", node.The(), err)
		return
	}
	n := 0
	for _, l := range lines {
		if strings.Contains(l, archiveFailedMark) {
			n++
		}
	}
	switch n {
	case 0:
		fmt.Fprintf(out, "%s's log holds no archive_command failure so far: the storage was writable before this step\n", node.The())
	default:
		fmt.Fprintf(out, "%s's log holds %d archive_command failures so far: archiving catches up now\n", node.The(), n)
	}
}
