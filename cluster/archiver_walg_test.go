package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// arcFakeWalG writes an executable wal-g stand-in into a directory the
// postgres user can reach: it appends "user|arg|arg|…" to a log and
// answers backup-list like WAL-G.
func arcFakeWalG(t *testing.T, dir string) (bin, log string) {
	t.Helper()
	bin = filepath.Join(dir, "wal-g")
	log = filepath.Join(dir, "argv.log")
	script := `#!/bin/sh
{ printf '%s' "$(id -un)"; for a in "$@"; do printf '|%s' "$a"; done; echo; } >> ` + log + `
case "$3" in
backup-list) echo '[{"backup_name":"base_000000010000000000000002"}]'; echo "INFO: a log line" >&2 ;;
backup-fetch) mkdir -p "$4" ;;
esac
exit 0
`
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(log, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(log, 0o666); err != nil { // past the umask
		t.Fatal(err)
	}
	return bin, log
}

func arcLog(t *testing.T, log string) []string {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// The wal-g archiver runs the seed's commands exactly.
func TestArchiverWalGCommands(t *testing.T) {
	lab, l := localLab(t)
	ctx := localCtx(t)
	bin, log := arcFakeWalG(t, filepath.Dir(lab.Dir))
	arc := WalG{Bin: bin}
	l.SetWalgBin(arc.Bin) // as the session wires it
	if err := arc.Prepare(lab, l); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	cfg := lab.Path(RunDir, WalgJSON)
	p := l.Paths(Primary)
	if p.WalgBin != bin || p.WalgConfig != cfg {
		t.Fatalf("paths: bin %q config %q", p.WalgBin, p.WalgConfig)
	}

	// The effective wal-g.json points at the lab's storage and primary.
	var eff map[string]any
	if err := json.Unmarshal([]byte(labReadFile(t, cfg)), &eff); err != nil {
		t.Fatal(err)
	}
	if eff["WALG_FILE_PREFIX"] != lab.Path(StorageDir) || eff["PGHOST"] != "127.0.0.1" || eff["PGPORT"] != fmt.Sprint(l.Port(Primary)) || eff["WALG_COMPRESSION_METHOD"] != "lz4" {
		t.Fatalf("effective wal-g.json %v", eff)
	}
	if st, err := os.Stat(lab.Path(StorageDir)); err != nil || !st.IsDir() {
		t.Fatal("Prepare did not create the storage dir (wal-push needs it)")
	}

	// The commands' text, as the seed writes them.
	if got, want := arc.ArchiveCommand(p), bin+" --config "+cfg+" wal-push %p"; got != want {
		t.Fatalf("archive_command %q, want %q", got, want)
	}
	if got, want := arc.RestoreCommand(p), bin+" --config "+cfg+" wal-fetch %f %p"; got != want {
		t.Fatalf("restore_command %q, want %q", got, want)
	}
	if got, want := arc.ArchiveCommand(ServerPaths{WalgBin: "/usr/local/bin/wal-g", WalgConfig: "/wal-g.json"}), "/usr/local/bin/wal-g --config /wal-g.json wal-push %p"; got != want {
		t.Fatalf("docker archive_command %q, want %q", got, want)
	}
	// Run as PostgreSQL runs them (postgres's shell, %f/%p filled in).
	seg := "000000010000000000000003"
	if out, err := arcRun(ctx, l, Primary, "postgres", arc.ArchiveCommand(p), seg, "pg_wal/"+seg); err != nil {
		t.Fatalf("archive_command: %v\n%s", err, out)
	}
	if out, err := arcRun(ctx, l, Replica, "postgres", arc.RestoreCommand(l.Paths(Replica)), seg, "pg_wal/RECOVERYXLOG"); err != nil {
		t.Fatalf("restore_command: %v\n%s", err, out)
	}

	var out bytes.Buffer
	if err := arc.BackupPush(ctx, l, Primary, &out); err != nil {
		t.Fatalf("BackupPush: %v\n%s", err, out.String())
	}
	out.Reset()
	names, err := arc.ListBackups(ctx, l, Primary, &out)
	if err != nil || !slices.Equal(names, []string{"base_000000010000000000000002"}) {
		t.Fatalf("ListBackups: %v %v (%q)", names, err, out.String())
	}
	if strings.Contains(out.String(), "INFO") {
		t.Fatal("ListBackups parsed or showed wal-g's stderr")
	}
	if err := arc.BackupFetch(ctx, l, Replica, names[0], &out); err != nil {
		t.Fatalf("BackupFetch: %v\n%s", err, out.String())
	}

	// backup-fetch too runs as the server user: it reads the storage,
	// which is that user's.
	pg := "postgres"
	if os.Geteuid() != 0 {
		me, _ := exec.Command("id", "-un").Output()
		pg = strings.TrimSpace(string(me))
	}
	want := []string{
		pg + "|--config|" + cfg + "|wal-push|pg_wal/" + seg,
		pg + "|--config|" + cfg + "|wal-fetch|" + seg + "|pg_wal/RECOVERYXLOG",
		pg + "|--config|" + cfg + "|backup-push|" + l.DataDir(Primary),
		pg + "|--config|" + cfg + "|backup-list|--detail|--json",
		pg + "|--config|" + cfg + "|backup-fetch|" + l.DataDir(Replica) + "|base_000000010000000000000002",
	}
	if got := arcLog(t, log); !slices.Equal(got, want) {
		t.Fatalf("wal-g argv:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The fetched data dir is the server user's.
	uid, mode := arcOwner(t, l.DataDir(Replica))
	if mode.Perm() != 0o700 || (os.Geteuid() == 0 && uid == 0) {
		t.Fatalf("replica data dir uid %d mode %v after backup-fetch", uid, mode.Perm())
	}
}

func TestArchiverWalGErrors(t *testing.T) {
	lab, l := localLab(t)
	ctx := localCtx(t)
	dir := filepath.Dir(lab.Dir)

	// backup-list printing something other than JSON.
	bad := filepath.Join(dir, "wal-g-bad")
	if err := os.WriteFile(bad, []byte("#!/bin/sh\necho 'not json'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	l.SetWalgBin(bad)
	if err := (WalG{Bin: bad}).Prepare(lab, l); err != nil {
		t.Fatal(err)
	}
	_, err := WalG{Bin: bad}.ListBackups(ctx, l, Primary, &bytes.Buffer{})
	labOneLine(t, "ListBackups with garbage output", err, "parse wal-g backup-list output")

	// A failing wal-g.
	fail := filepath.Join(dir, "wal-g-fail")
	if err := os.WriteFile(fail, []byte("#!/bin/sh\necho 'FS storage root directory does not exist' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	l.SetWalgBin(fail)
	var out bytes.Buffer
	err = WalG{Bin: fail}.BackupPush(ctx, l, Primary, &out)
	if err == nil || !strings.Contains(err.Error(), "wal-g backup-push") || !strings.Contains(out.String(), "FS storage root") {
		t.Fatalf("BackupPush with a failing wal-g: %v %q", err, out.String())
	}
	if err := (WalG{Bin: fail}).BackupFetch(ctx, l, Replica, "base_x", &out); err == nil || !strings.Contains(err.Error(), "wal-g backup-fetch") {
		t.Fatalf("BackupFetch with a failing wal-g: %v", err)
	}

	// A broken wal-g.json is reported with the fix.
	labWriteFile(t, lab.Path(WalgJSON), "{broken")
	err = WalG{Bin: fail}.Prepare(lab, l)
	labOneLine(t, "Prepare with a broken wal-g.json", err, WalgJSON, "fix the JSON")
}
