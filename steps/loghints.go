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
// consequence and the PANIC the cause.
func WithPanicHints(env *Env, all []Step) []Step {
	out := make([]Step, len(all))
	for i, s := range all {
		if run := s.Run; run != nil {
			s.Run = func(ctx context.Context, w io.Writer) error {
				marks := make([]string, len(cluster.Nodes))
				for j, n := range cluster.Nodes {
					marks[j] = lastLine(ctx, env.Backend, n)
				}
				err := run(ctx, w)
				if err == nil || ctx.Err() != nil {
					return err
				}
				return panicHint(ctx, env.Backend, marks, err)
			}
		}
		out[i] = s
	}
	return out
}

// panicHint adds to err the first PANIC a server logged after its mark.
func panicHint(ctx context.Context, b cluster.Backend, marks []string, err error) error {
	for j, n := range cluster.Nodes {
		l, ok := firstLine(logSince(ctx, b, n, marks[j]), func(l pg.LogLine) bool { return l.IsProblem() && l.Level == "PANIC" })
		if !ok {
			continue
		}
		msg := pg.StripLogPrefix(l.Raw)
		if strings.Contains(err.Error(), msg) {
			return err
		}
		return fmt.Errorf("%w; the %s's log says: %s", err, n, msg)
	}
	return err
}
