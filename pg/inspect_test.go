package pg

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"walstep/cluster"
)

// InspectDataDir reads a real data dir (initdb's, with the playbook's kind of
// additions) through the local backend: no host path above the backend.
func TestInspectDataDirThroughTheBackend(t *testing.T) {
	skipShort(t)
	l := newPGLab(t)
	ctx := context.Background()
	var out bytes.Buffer
	if err := l.b.Init(ctx, cluster.Primary, &out); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out.String())
	}
	dd := l.b.DataDir(cluster.Primary)
	f, err := os.OpenFile(filepath.Join(dd, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("archive_mode = on\ninclude_dir = '" + cluster.ConfigLink + "'\n")
	f.Close()
	cfg := l.b.Paths(cluster.Primary).ConfigDir
	if err := os.MkdirAll(cfg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg, "primary_restore.conf"), []byte("# x\nrecovery_target = 'immediate'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeServerFile(t, filepath.Join(dd, "pg_wal", "00000002.history"), "1\t0/2000100\treached consistency\n")
	writeServerFile(t, filepath.Join(dd, "recovery.signal"), "")

	in := InspectDataDir(ctx, l.b, cluster.Primary)
	if in.Missing || in.Err != "" {
		t.Fatalf("data dir missing %v, err %q", in.Missing, in.Err)
	}
	present := map[string]bool{}
	for _, s := range in.Signals {
		present[s.Name] = s.Present
	}
	if !present["recovery.signal"] || present["standby.signal"] {
		t.Errorf("signals %+v", in.Signals)
	}
	if got := strings.Join(in.Appended, "|"); got != "archive_mode = on|include_dir = '"+cluster.ConfigLink+"'" {
		t.Errorf("appended %q", got)
	}
	if in.IncludeDir != cluster.ConfigLink || in.IncludeWhere != cfg || !strings.Contains(in.IncludeNote, "not there yet") {
		t.Errorf("include_dir %q -> %q (%s)", in.IncludeDir, in.IncludeWhere, in.IncludeNote)
	}
	if len(in.IncludeFiles) != 1 || in.IncludeFiles[0].Name != "primary_restore.conf" || strings.Join(in.IncludeFiles[0].Lines, "|") != "recovery_target = 'immediate'" {
		t.Errorf("include files %+v", in.IncludeFiles)
	}
	if in.Control == nil || in.Control.State != "shut down" {
		t.Errorf("pg_controldata %+v, err %q", in.Control, in.ControlErr)
	}
	if len(in.Histories) != 1 || in.Histories[0].Name != "00000002.history" || in.Histories[0].Lines[0] != "1\t0/2000100\treached consistency" {
		t.Errorf("histories %+v", in.Histories)
	}
	if in.WALErr != "" || len(in.WAL) < 2 {
		t.Errorf("pg_wal %+v, err %q", in.WAL, in.WALErr)
	}
	// Nothing there yet: said so, not an error.
	if r := InspectDataDir(ctx, l.b, cluster.Replica); !r.Missing {
		t.Errorf("replica's data dir before any step: %+v", r)
	}
}
