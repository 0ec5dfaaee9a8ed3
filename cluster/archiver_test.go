package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// arcRun runs a server-side shell command string (an archive_command or a
// restore_command with %f and %p filled in) in node's environment.
func arcRun(ctx context.Context, l *Local, node Node, usr, command, f, p string) (string, error) {
	c := strings.NewReplacer("%f", f, "%p", p).Replace(command)
	var out bytes.Buffer
	err := l.Exec(ctx, node, usr, []string{"sh", "-c", c}, &out)
	return out.String(), err
}

func arcOwner(t *testing.T, path string) (uid uint32, mode os.FileMode) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	fi, _ := os.Stat(path)
	return st.Uid, fi.Mode()
}

func TestArchiverCPCommandText(t *testing.T) {
	p := ServerPaths{Storage: "/wal-g-storage", Data: "/data"}
	if got, want := (CP{}).ArchiveCommand(p), "test ! -f /wal-g-storage/wal_005/%f && cp %p /wal-g-storage/wal_005/%f"; got != want {
		t.Fatalf("archive_command %q, want %q", got, want)
	}
	if got, want := (CP{}).RestoreCommand(p), "cp /wal-g-storage/wal_005/%f %p"; got != want {
		t.Fatalf("restore_command %q, want %q", got, want)
	}
	if (CP{}).Name() != "cp" || (WalG{}).Name() != "wal-g" {
		t.Fatal("names")
	}
}

// The cp commands do what PostgreSQL expects when run by its shell: copy,
// refuse to overwrite an archived file, fail on a missing one.
func TestArchiverCPCommandsRun(t *testing.T) {
	lab, l := localLab(t)
	ctx := localCtx(t)
	if err := (CP{}).Prepare(lab, l); err != nil {
		t.Fatal(err)
	}
	seg := "000000010000000000000001"
	src := filepath.Join(lab.Dir, "run", "pg_wal", seg)
	labWriteFile(t, src, "wal bytes")
	p := l.Paths(Primary)
	if out, err := arcRun(ctx, l, Primary, "root", (CP{}).ArchiveCommand(p), seg, src); err != nil {
		t.Fatalf("archive_command: %v\n%s", err, out)
	}
	if got := labReadFile(t, lab.Path(StorageDir, WALDir, seg)); got != "wal bytes" {
		t.Fatalf("archived %q", got)
	}
	labWriteFile(t, src, "other bytes")
	if _, err := arcRun(ctx, l, Primary, "root", (CP{}).ArchiveCommand(p), seg, src); err == nil {
		t.Fatal("archive_command overwrote an archived segment")
	}
	if got := labReadFile(t, lab.Path(StorageDir, WALDir, seg)); got != "wal bytes" {
		t.Fatalf("archived file changed: %q", got)
	}
	dst := filepath.Join(lab.Dir, "run", "RECOVERYXLOG")
	if out, err := arcRun(ctx, l, Replica, "root", (CP{}).RestoreCommand(l.Paths(Replica)), seg, dst); err != nil {
		t.Fatalf("restore_command: %v\n%s", err, out)
	}
	if got := labReadFile(t, dst); got != "wal bytes" {
		t.Fatalf("restored %q", got)
	}
	if _, err := arcRun(ctx, l, Replica, "root", (CP{}).RestoreCommand(l.Paths(Replica)), "000000020000000000000002", dst); err == nil {
		t.Fatal("restore_command of a missing segment succeeded")
	}
}

// The cp archiver on a real primary: archive_command archives, BackupPush
// stores base_000000010000000000000002, ListBackups finds it, BackupFetch
// restores it into the replica's data dir, owned by the server user.
func TestArchiverCPBackupOnRealServer(t *testing.T) {
	lab, l := localLab(t)
	ctx := localCtx(t)
	arc := CP{}
	if err := arc.Prepare(lab, l); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	for _, d := range []string{WALDir, BackupsDir} {
		if st, err := os.Stat(lab.Path(StorageDir, d)); err != nil || !st.IsDir() {
			t.Fatalf("Prepare did not create %s: %v", d, err)
		}
	}
	var out bytes.Buffer
	if err := l.Init(ctx, Primary, &out); err != nil {
		t.Fatalf("Init: %v\n%s", err, out.String())
	}
	p := l.Paths(Primary)
	// As seed steps 2 and 4a: archiving on, storage handed to postgres.
	conf := fmt.Sprintf("archive_mode = on\narchive_command = '%s'\n", arc.ArchiveCommand(p))
	if err := l.Exec(ctx, Primary, "root", []string{"sh", "-c", `printf '%s' "$1" >> "$2"`, "sh", conf, p.Data + "/postgresql.conf"}, &out); err != nil {
		t.Fatal(err)
	}
	if err := l.Exec(ctx, Primary, "root", []string{"chown", "-R", p.Owner, p.Storage}, &out); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(ctx, Primary, &out); err != nil {
		t.Fatal(err)
	}
	if res, _, err := WaitReady(ctx, l, Primary, localWait); err != nil || res != Accepting {
		t.Fatalf("WaitReady: %v %v", res, err)
	}

	// No backup yet.
	names, err := arc.ListBackups(ctx, l, Primary, &out)
	if err != nil || len(names) != 0 {
		t.Fatalf("ListBackups before any backup: %v %v", names, err)
	}

	out.Reset()
	if err := arc.BackupPush(ctx, l, Primary, &out); err != nil {
		t.Fatalf("BackupPush: %v\n%s", err, out.String())
	}
	const name = "base_000000010000000000000002"
	bdir := lab.Path(StorageDir, BackupsDir, name)
	for _, f := range []string{"backup_label", "PG_VERSION", "global/pg_control"} {
		if _, err := os.Stat(filepath.Join(bdir, f)); err != nil {
			t.Fatalf("backup lacks %s: %v\nBackupPush said:\n%s", f, err, out.String())
		}
	}
	if !strings.Contains(out.String(), "backup "+name+" stored") {
		t.Fatalf("BackupPush output %q", out.String())
	}
	if _, err := os.Stat(lab.Path(StorageDir, BackupsDir, ".incoming")); err == nil {
		t.Fatal("BackupPush left its temporary dir")
	}
	// archive_command works: the segments before and of the backup arrive.
	for _, seg := range []string{"000000010000000000000001", "000000010000000000000002"} {
		err := Until(ctx, localWait, "segment "+seg+" in the archive", func(context.Context) (bool, error) {
			_, err := os.Stat(lab.Path(StorageDir, WALDir, seg))
			return err == nil, nil
		})
		if err != nil {
			lines, _ := l.LogTail(ctx, Primary, 20)
			t.Fatalf("%v\nlog:\n%s", err, strings.Join(lines, "\n"))
		}
	}

	out.Reset()
	names, err = arc.ListBackups(ctx, l, Primary, &out)
	if err != nil || !slices.Equal(names, []string{name}) {
		t.Fatalf("ListBackups: %v %v", names, err)
	}
	if strings.TrimSpace(out.String()) != name {
		t.Fatalf("ListBackups printed %q", out.String())
	}

	out.Reset()
	if err := arc.BackupFetch(ctx, l, Replica, name, &out); err != nil {
		t.Fatalf("BackupFetch: %v\n%s", err, out.String())
	}
	rd := l.DataDir(Replica)
	label, err := os.ReadFile(filepath.Join(rd, "backup_label"))
	if err != nil || !strings.Contains(string(label), "(file 000000010000000000000002)") {
		t.Fatalf("replica backup_label: %v %q", err, label)
	}
	uid, mode := arcOwner(t, rd)
	if mode.Perm() != 0o700 {
		t.Fatalf("replica data dir mode %v, want 0700", mode.Perm())
	}
	if os.Geteuid() == 0 {
		if uid == 0 {
			t.Fatal("replica data dir owned by root")
		}
		if fuid, _ := arcOwner(t, filepath.Join(rd, "global", "pg_control")); fuid != uid {
			t.Fatal("files inside the replica data dir are not handed to postgres")
		}
	}
	// The server user can read what was fetched (pg_controldata as postgres).
	if err := l.Exec(ctx, Replica, "postgres", []string{"pg_controldata", "-D", rd}, &out); err != nil {
		t.Fatalf("pg_controldata on the fetched backup as postgres: %v", err)
	}

	// A missing backup is a clear error.
	out.Reset()
	err = arc.BackupFetch(ctx, l, Replica, "base_000000010000000000000009", &out)
	if err == nil || !strings.Contains(out.String(), "not found in storage") {
		t.Fatalf("BackupFetch of a missing backup: %v %q", err, out.String())
	}

	// The storage is the server user's: a backup it made a link to a
	// root-only directory is read with its rights, so nothing of that
	// directory lands in the data dir it owns.
	if os.Geteuid() != 0 {
		return
	}
	secret := filepath.Join(t.TempDir(), "root-only")
	if err := os.Mkdir(secret, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secret, "PG_VERSION"), []byte("ROOT-ONLY-7a1e\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const planted = "base_000000010000000000000003"
	if err := l.Exec(ctx, Primary, "postgres", []string{"ln", "-s", secret, lab.Path(StorageDir, BackupsDir, planted)}, &out); err != nil {
		t.Fatalf("plant the link as postgres: %v\n%s", err, out.String())
	}
	if err := os.RemoveAll(rd); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := arc.BackupFetch(ctx, l, Replica, planted, &out); err == nil {
		t.Errorf("BackupFetch through a link to a root-only directory succeeded:\n%s", out.String())
	}
	if b, err := os.ReadFile(filepath.Join(rd, "PG_VERSION")); err == nil {
		t.Errorf("the root-only file was copied into the data dir: %q", b)
	}
}

func TestArchiverCPListBackupsWithoutStorage(t *testing.T) {
	lab := labT(t)
	l, err := NewLocal(LocalOptions{Lab: lab})
	if err != nil {
		t.Fatal(err)
	}
	_, err = (CP{}).ListBackups(context.Background(), l, Primary, &bytes.Buffer{})
	labOneLine(t, "ListBackups without storage", err, "list backups")
}

func TestPickArchiver(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty) // no wal-g anywhere on PATH

	arc, why, err := PickArchiver("auto", "")
	if err != nil || arc.Name() != "cp" || !strings.Contains(why, "no wal-g") {
		t.Fatalf("auto without wal-g: %v %q %v", arc, why, err)
	}
	arc, why, err = PickArchiver("", "")
	if err != nil || arc.Name() != "cp" || why == "" {
		t.Fatalf("default without wal-g: %v %q %v", arc, why, err)
	}
	arc, why, err = PickArchiver("cp", "")
	if err != nil || arc.Name() != "cp" || !strings.Contains(why, "--archiver cp") {
		t.Fatalf("cp: %v %q %v", arc, why, err)
	}

	// wal-g asked for, none found.
	_, _, err = PickArchiver("wal-g", "")
	labOneLine(t, "--archiver wal-g without wal-g", err, "--wal-g", "--archiver cp")
	missing := filepath.Join(empty, "no-such-wal-g")
	for _, choice := range []string{"wal-g", "auto"} {
		_, _, err = PickArchiver(choice, missing)
		labOneLine(t, choice+" with a bad --wal-g", err, missing, "not an executable")
	}
	// Not executable, and a directory.
	notx := filepath.Join(empty, "wal-g.txt")
	if err := os.WriteFile(notx, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{notx, empty} {
		_, _, err = PickArchiver("auto", p)
		labOneLine(t, "--wal-g "+p, err, "not an executable")
	}
	_, _, err = PickArchiver("rsync", "")
	labOneLine(t, "unknown archiver", err, "rsync", "auto, cp or wal-g")

	// A wal-g named with --wal-g is picked by auto, with its absolute path.
	bin, _ := arcFakeWalG(t, t.TempDir())
	arc, why, err = PickArchiver("auto", bin)
	if err != nil {
		t.Fatalf("auto with --wal-g: %v", err)
	}
	if w, ok := arc.(WalG); !ok || w.Bin != bin || !strings.Contains(why, bin) || !strings.Contains(why, "wal-g") {
		t.Fatalf("auto with --wal-g picked %#v (%q)", arc, why)
	}
	// Relative --wal-g comes back absolute.
	wd, _ := os.Getwd()
	rel, _ := filepath.Rel(wd, bin)
	if arc, _, err := PickArchiver("wal-g", rel); err != nil || arc.(WalG).Bin != bin {
		t.Fatalf("relative --wal-g: %#v %v", arc, err)
	}
	// A wal-g on PATH is picked by auto too.
	t.Setenv("PATH", filepath.Dir(bin))
	arc, why, err = PickArchiver("auto", "")
	if w, ok := arc.(WalG); err != nil || !ok || w.Bin != bin || !strings.Contains(why, "found") {
		t.Fatalf("auto with wal-g on PATH: %#v %q %v", arc, why, err)
	}
}

// A lab path with a space, a quote or a % must not break the commands
// PostgreSQL runs (archive_command, restore_command) nor the cp archiver's
// scripts; plain paths keep the seed's text unquoted.
func TestArchiverCommandsQuotePaths(t *testing.T) {
	plain := ServerPaths{Storage: "/wal-g-storage", WalgBin: "/usr/local/bin/wal-g", WalgConfig: "/wal-g.json"}
	if got, want := (WalG{}).ArchiveCommand(plain), "/usr/local/bin/wal-g --config /wal-g.json wal-push %p"; got != want {
		t.Fatalf("plain archive_command %q, want the seed's %q", got, want)
	}
	odd := ServerPaths{Storage: "/tmp/my lab/it's 100%/wal-g-storage", WalgBin: "/opt/my bin/wal-g", WalgConfig: "/tmp/my lab/run/wal-g.json"}
	// PostgreSQL turns %% into % and fills %f and %p; sh then splits words.
	expand := func(cmd, f, p string) string {
		return strings.NewReplacer("%%", "%", "%f", f, "%p", p).Replace(cmd)
	}
	for _, tc := range []struct{ cmd, want string }{
		{(CP{}).ArchiveCommand(odd), "test|!|-f|/tmp/my lab/it's 100%/wal-g-storage/wal_005/F|&&|cp|P|/tmp/my lab/it's 100%/wal-g-storage/wal_005/F"},
		{(CP{}).RestoreCommand(odd), "cp|/tmp/my lab/it's 100%/wal-g-storage/wal_005/F|P"},
		{(WalG{}).ArchiveCommand(odd), "/opt/my bin/wal-g|--config|/tmp/my lab/run/wal-g.json|wal-push|P"},
		{(WalG{}).RestoreCommand(odd), "/opt/my bin/wal-g|--config|/tmp/my lab/run/wal-g.json|wal-fetch|F|P"},
	} {
		// set -- takes the words as sh splits them ("&&" quoted to stay a word).
		words, err := exec.Command("sh", "-c", "set -- "+strings.ReplaceAll(expand(tc.cmd, "F", "P"), "&&", "'&&'")+`; IFS='|'; printf '%s' "$*"`).Output()
		if err != nil {
			t.Fatalf("sh on %q: %v", tc.cmd, err)
		}
		if string(words) != tc.want {
			t.Errorf("%q splits into %q, want %q", tc.cmd, words, tc.want)
		}
	}
}
