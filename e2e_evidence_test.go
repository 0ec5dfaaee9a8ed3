package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// diagnosisText is the diagnosis's explanation and evidence of a report.
func diagnosisText(rep jsonReport) (string, []string) {
	expl, _ := rep.Diagnosis["explanation"].(string)
	var ev []string
	if es, ok := rep.Diagnosis["evidence"].([]any); ok {
		for _, e := range es {
			s, _ := e.(string)
			ev = append(ev, s)
		}
	}
	return expl, ev
}

// With the slot dropped, the line the user reads in the replica's log is
// PostgreSQL's `replication slot "replica" does not exist`: the diagnosis
// quotes it in its evidence and its explanation, whatever else it rests on.
func TestE2ELocalDroppedSlotLineInEvidence(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab, "hooks/after-13.primary.sql", "select pg_drop_replication_slot('replica');\n")
	rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp")
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	const line = `replication slot "replica" does not exist`
	if !hasLine(rep.Nodes[1].LogTail, line) {
		t.Fatalf("the replica's log lacks %q (PostgreSQL's own account):\n%s", line, strings.Join(rep.Nodes[1].LogTail, "\n"))
	}
	expl, ev := diagnosisText(rep)
	if !hasLine(ev, line) || !strings.Contains(expl, line) {
		t.Errorf("diagnosis should quote %q in evidence and explanation:\nexplanation: %s\nevidence:\n%s", line, expl, strings.Join(ev, "\n"))
	}
}

// keepWriting writes on the primary after F6 until timeline 2's segments
// are archived past the replica's position and the replica's wal receiver
// has been let in at 0/3000000 (the primary has written that far now):
// the refusal in its log is old by then, and restore_command has fetched
// timeline 2's segments into its pg_wal.
const keepWriting = `log="$PGDATA/../logs/replica.log"
psql -Xq -c "create table w (x int)"
for i in 1 2 3; do
	psql -Xq -c "insert into w select generate_series(1, 20000)" -c "select pg_switch_wal()" >/dev/null
done
for i in $(seq 1 600); do
	if grep -q 'started streaming WAL from primary at 0/3000000 on timeline 2' "$log" && ls "$PGDATA/../replica-data/pg_wal" | grep -q '^000000020000000000000003$'; then exit 0; fi
	sleep 0.1
done
echo "the replica never fetched timeline 2 or was let in" >&2
exit 1
`

// When the primary keeps writing after F6, the replica's position is still
// named on the timeline it replayed (1, from the WAL file holding its
// replay position), not on the newest file restore_command fetched since
// (timeline 2's), so the text says it is past the fork.
func TestE2ELocalPrimaryKeepsWritingAfterF6(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab, "hooks/after-F6.primary.sh", keepWriting)
	rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp")
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	expl, ev := diagnosisText(rep)
	if v, _ := rep.Diagnosis["verdict"].(string); v != "diverged" {
		t.Fatalf("verdict %s, want diverged: %s", v, expl)
	}
	if !strings.Contains(expl, "replayed timeline 1 up to 0/3000000, past that point") || !hasLine(ev, "replica position 0/3000000 on timeline 1 is past the fork point 0/2000100") {
		t.Errorf("the text should say the replica is past the fork on timeline 1:\nexplanation: %s\nevidence:\n%s", expl, strings.Join(ev, "\n"))
	}
}
