package tui

import (
	"strings"
	"testing"

	"walstep/pg"
)

// The side panel tells restore_command's output from the server's: WAL-G's
// "ERROR: <date> Archive … does not exist." is dimmed and marked ┊, not
// drawn as a server problem; PostgreSQL's own FATAL keeps │.
func TestPanelMarksArchiverLines(t *testing.T) {
	m, _ := testModel(pg.Snapshot{})
	walg := "ERROR: 2026/11/30 07:35:19.431523 Archive '00000003.history' does not exist."
	fatal := "2026-11-30 07:35:20.000 UTC [38] FATAL:  could not start WAL streaming: ERROR:  requested starting point 0/3000000 is ahead of the WAL flush position of this server 0/2000178"
	rows := m.logLines([]string{walg, fatal}, 200, 10)
	if len(rows) != 2 {
		t.Fatalf("rows %q", rows)
	}
	if !strings.Contains(rows[0], "┊ ERROR: 2026/11/30") || strings.Contains(rows[0], "│") {
		t.Errorf("WAL-G line not marked as the archiver's: %q", rows[0])
	}
	if !strings.Contains(rows[1], "│ FATAL: could not start WAL streaming") {
		t.Errorf("server line: %q", rows[1])
	}
	if rows[0] != m.styles.Dim.Render(fit("  ┊ "+walg, 200)) {
		t.Errorf("WAL-G line not dimmed: %q", rows[0])
	}
}
