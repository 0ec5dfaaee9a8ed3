package steps

import (
	"context"
	"strings"
	"testing"

	"walstep/cluster"
)

// logBackend serves a fixed log tail.
type logBackend struct {
	cluster.Backend
	lines []string
}

func (l logBackend) LogTail(context.Context, cluster.Node, int) ([]string, error) {
	return l.lines, nil
}

// Step 4a's note about earlier archive failures is checked against the log.
func TestReportArchiveFailuresCountsTheLog(t *testing.T) {
	for _, c := range []struct {
		lines []string
		want  string
	}{
		{[]string{"LOG:  database system is ready to accept connections"}, "holds no archive_command failure so far"},
		{[]string{"LOG:  archive command failed with exit code 1", "DETAIL:  The failed archive command was: cp …", "LOG:  archive command failed with exit code 1"}, "holds 2 archive_command failures so far"},
	} {
		var out strings.Builder
		reportArchiveFailures(context.Background(), logBackend{lines: c.lines}, cluster.Primary, &out)
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("got %q, want %q", out.String(), c.want)
		}
	}
}
