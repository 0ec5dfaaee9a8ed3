package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Archive layout shared by both archivers (WAL-G's file-storage layout), so
// the archive view reads the same way whichever made it.
const (
	BackupsDir = "basebackups_005"
	WALDir     = "wal_005"
)

// Archiver makes and restores backups and WAL archives for the repro.
type Archiver interface {
	// Name is "cp" or "wal-g".
	Name() string
	// ArchiveCommand is the archive_command for a server seeing paths p.
	ArchiveCommand(p ServerPaths) string
	// RestoreCommand is the restore_command for a server seeing paths p.
	RestoreCommand(p ServerPaths) string
	// Prepare lays out the lab's storage and config for this archiver.
	Prepare(lab *Lab, b Backend) error
	// BackupPush takes a base backup of node's running server (step 4d).
	BackupPush(ctx context.Context, b Backend, node Node, out io.Writer) error
	// ListBackups lists backup names, oldest first (step 6).
	ListBackups(ctx context.Context, b Backend, node Node, out io.Writer) ([]string, error)
	// BackupFetch restores backup name into node's data dir (steps 6b, 7).
	BackupFetch(ctx context.Context, b Backend, node Node, name string, out io.Writer) error
}

// CP is PostgreSQL's documented cp archive with pg_basebackup backups.
type CP struct{}

// Name implements Archiver.
func (CP) Name() string { return "cp" }

// ArchiveCommand implements Archiver (the documented example command).
func (CP) ArchiveCommand(p ServerPaths) string {
	dir := commandPath(p.Storage + "/" + WALDir)
	return fmt.Sprintf("test ! -f %s/%%f && cp %%p %s/%%f", dir, dir)
}

// RestoreCommand implements Archiver.
func (CP) RestoreCommand(p ServerPaths) string {
	return fmt.Sprintf("cp %s/%%f %%p", commandPath(p.Storage+"/"+WALDir))
}

// Prepare implements Archiver: the storage directories must exist before
// the first archive_command runs.
func (CP) Prepare(lab *Lab, b Backend) error {
	for _, d := range []string{WALDir, BackupsDir} {
		if err := lab.MkdirAll(lab.Path(StorageDir, d), 0o755, -1, -1); err != nil {
			return err
		}
	}
	return nil
}

// BackupPush implements Archiver: pg_basebackup -X none into a temporary
// directory, renamed base_<start segment> as WAL-G names backups.
func (CP) BackupPush(ctx context.Context, b Backend, node Node, out io.Writer) error {
	p := b.Paths(node)
	root := p.Storage + "/" + BackupsDir
	// Paths are arguments, not script text, so a lab path may hold spaces.
	const script = `set -e
root=$1
tmp=$root/.incoming
rm -rf "$tmp"
pg_basebackup -D "$tmp" -X none --checkpoint=fast -U postgres
seg=$(sed -n 's/^START WAL LOCATION: .*(file \([0-9A-F]*\))$/\1/p' "$tmp/backup_label")
test -n "$seg"
mv "$tmp" "$root/base_$seg"
echo "backup base_$seg stored in $root"
`
	if err := b.Exec(ctx, node, "postgres", []string{"sh", "-c", script, "sh", root}, out); err != nil {
		// Leave no half-written backup behind a cancel or a failure.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = b.Exec(cctx, node, "postgres", []string{"rm", "-rf", root + "/.incoming"}, io.Discard)
		return fmt.Errorf("take base backup: %w", err)
	}
	return nil
}

// ListBackups implements Archiver by reading the storage directory
// through the backend.
func (CP) ListBackups(ctx context.Context, b Backend, node Node, out io.Writer) ([]string, error) {
	ents, err := b.ReadDir(ctx, node, AreaStorage, BackupsDir)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.Dir && strings.HasPrefix(e.Name, "base_") {
			names = append(names, e.Name)
			fmt.Fprintln(out, e.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// BackupFetch implements Archiver: a copy of the backup into the data dir.
// The storage is the server user's (the seed chowns it to postgres), so the
// copy runs as that user: a link swapped in there is followed with its
// rights only, and nothing root-only can land in the data dir it owns.
func (CP) BackupFetch(ctx context.Context, b Backend, node Node, name string, out io.Writer) error {
	if err := prepareDataDir(b, node); err != nil {
		return fmt.Errorf("fetch backup: %w", err)
	}
	p := b.Paths(node)
	src := p.Storage + "/" + BackupsDir + "/" + name
	// Paths are arguments, not script text, so a lab path may hold spaces.
	const script = `set -e
src=$1 data=$2 name=$3
test -d "$src" || { echo "backup $name not found in storage" >&2; exit 1; }
cp -a "$src/." "$data/"
chmod 700 "$data"
echo "restored $name into $data"
`
	if err := b.Exec(ctx, node, "postgres", []string{"sh", "-c", script, "sh", src, p.Data, name}, out); err != nil {
		return fmt.Errorf("fetch backup: %w", err)
	}
	return nil
}

// DataDirPreparer is implemented by backends on which a command run as the
// server user cannot make the node's data dir itself (locally the lab is
// walstep's): PrepareDataDir makes it, the server user's. On Docker, Exec
// as postgres does so for a short-lived container.
type DataDirPreparer interface {
	PrepareDataDir(node Node) error
}

func prepareDataDir(b Backend, node Node) error {
	if p, ok := b.(DataDirPreparer); ok {
		return p.PrepareDataDir(node)
	}
	return nil
}

// WalG runs the seed's wal-g commands exactly.
type WalG struct {
	// Bin is the wal-g binary on the host (for the local backend; Docker
	// mounts it at /usr/local/bin/wal-g).
	Bin string
}

// Name implements Archiver.
func (WalG) Name() string { return "wal-g" }

// ArchiveCommand implements Archiver.
func (WalG) ArchiveCommand(p ServerPaths) string {
	return fmt.Sprintf("%s --config %s wal-push %%p", commandPath(p.WalgBin), commandPath(p.WalgConfig))
}

// RestoreCommand implements Archiver.
func (WalG) RestoreCommand(p ServerPaths) string {
	return fmt.Sprintf("%s --config %s wal-fetch %%f %%p", commandPath(p.WalgBin), commandPath(p.WalgConfig))
}

// Prepare implements Archiver: WAL-G's file storage must exist before the
// first wal-push, and the effective wal-g.json points it at the storage.
func (WalG) Prepare(lab *Lab, b Backend) error {
	if err := lab.MkdirAll(lab.Path(StorageDir), 0o755, -1, -1); err != nil {
		return err
	}
	return WriteWalgConfig(lab, b)
}

// WriteWalgConfig writes run/wal-g.json: the lab's wal-g.json with
// WALG_FILE_PREFIX, PGHOST and PGPORT set for backend b.
func WriteWalgConfig(lab *Lab, b Backend) error {
	raw, err := lab.ReadFile(WalgJSON)
	if err != nil {
		return err
	}
	cfg := map[string]any{}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("parse %s: %w (fix the JSON or delete the file and run walstep init)", lab.Path(WalgJSON), err)
	}
	if err := checkPrefetchDir(cfg["WALG_PREFETCH_DIR"], b, lab.Topology().Nodes()); err != nil {
		return fmt.Errorf("%s: %w", lab.Path(WalgJSON), err)
	}
	p := b.Paths(lab.Topology().Primary())
	cfg["WALG_FILE_PREFIX"] = p.Storage
	cfg["PGHOST"] = p.Host
	cfg["PGPORT"] = p.Port
	out, _ := json.MarshalIndent(cfg, "", "  ")
	// The server user's alone: it may hold storage keys or a password.
	f := ServerFile{Area: AreaRun, Name: WalgJSON, Mode: ReplaceFile, Data: append(out, '\n')}
	if err := b.WriteFile(context.Background(), lab.Topology().Primary(), f); err != nil {
		return fmt.Errorf("write effective wal-g.json: %w", err)
	}
	return nil
}

// BackupPush implements Archiver (seed step 4d).
func (WalG) BackupPush(ctx context.Context, b Backend, node Node, out io.Writer) error {
	p := b.Paths(node)
	if err := b.Exec(ctx, node, "postgres", []string{p.WalgBin, "--config", p.WalgConfig, "backup-push", p.Data}, out); err != nil {
		return fmt.Errorf("wal-g backup-push: %w", err)
	}
	return nil
}

// ListBackups implements Archiver with backup-list --detail --json (JSON on
// stdout, logs on stderr).
func (WalG) ListBackups(ctx context.Context, b Backend, node Node, out io.Writer) ([]string, error) {
	// The seed's step 6 is `sudo ls ./wal-g-storage/basebackups_005`: a
	// backup is complete once WAL-G wrote its stop sentinel.
	if ents, err := b.ReadDir(ctx, node, AreaStorage, BackupsDir); err == nil {
		var names []string
		for _, e := range ents {
			if n, ok := strings.CutSuffix(e.Name, "_backup_stop_sentinel.json"); ok && strings.HasPrefix(n, "base_") {
				names = append(names, n)
			}
		}
		if len(names) > 0 {
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintln(out, n)
			}
			return names, nil
		}
	}
	// Not readable from here (the storage is the server user's), or no
	// sentinel where WAL-G 3 writes one: ask wal-g.
	p := b.Paths(node)
	var stdout strings.Builder
	if err := b.Exec(ctx, node, "postgres", []string{"sh", "-c", fmt.Sprintf("%s --config %s backup-list --detail --json 2>/dev/null", ShellQuote(p.WalgBin), ShellQuote(p.WalgConfig))}, &stdout); err != nil {
		return nil, fmt.Errorf("wal-g backup-list: %w", err)
	}
	fmt.Fprint(out, stdout.String())
	var rows []struct {
		Name string `json:"backup_name"`
	}
	var body []string
	for _, line := range strings.Split(stdout.String(), "\n") {
		if !strings.HasPrefix(line, "$ ") { // the backend's echo of the command
			body = append(body, line)
		}
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(strings.Join(body, "\n"))), &rows); err != nil {
		return nil, fmt.Errorf("parse wal-g backup-list output: %w", err)
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.Name)
	}
	return names, nil
}

// BackupFetch implements Archiver (seed steps 6 and 7): wal-g runs as the
// server user, whose the storage is (see CP.BackupFetch), in one exec (on
// Docker one short-lived container, as the seed's docker run --rm).
func (WalG) BackupFetch(ctx context.Context, b Backend, node Node, name string, out io.Writer) error {
	if err := prepareDataDir(b, node); err != nil {
		return fmt.Errorf("wal-g backup-fetch: %w", err)
	}
	p := b.Paths(node)
	const script = `set -e
"$1" --config "$2" backup-fetch "$3" "$4"
chmod 700 "$3"`
	if err := b.Exec(ctx, node, "postgres", []string{"sh", "-c", script, "sh", p.WalgBin, p.WalgConfig, p.Data, name}, out); err != nil {
		return fmt.Errorf("wal-g backup-fetch: %w", err)
	}
	return nil
}

// FindWalG looks for a wal-g binary: the explicit path, else PATH.
func FindWalG(explicit string) (string, error) {
	if explicit != "" {
		abs, err := filepath.Abs(explicit)
		if err != nil {
			return "", err
		}
		st, err := os.Stat(abs)
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("--wal-g %s is not an executable file", explicit)
		}
		return abs, nil
	}
	return exec.LookPath("wal-g")
}

// PickArchiver resolves --archiver (auto, cp, wal-g) and says why.
func PickArchiver(choice, walgFlag string) (Archiver, string, error) {
	switch choice {
	case "cp":
		return CP{}, "cp archiver (asked for with --archiver cp)", nil
	case "wal-g", "walg":
		bin, err := FindWalG(walgFlag)
		if err != nil {
			return nil, "", fmt.Errorf("find wal-g: %w (pass --wal-g PATH or use --archiver cp)", err)
		}
		return WalG{Bin: bin}, "wal-g archiver with " + bin + " (asked for with --archiver wal-g)", nil
	case "", "auto":
		bin, err := FindWalG(walgFlag)
		if err == nil {
			return WalG{Bin: bin}, "wal-g archiver: found " + bin, nil
		}
		if walgFlag != "" {
			return nil, "", err
		}
		return CP{}, "cp archiver: no wal-g on PATH (pass --wal-g PATH to use WAL-G)", nil
	default:
		return nil, "", fmt.Errorf("unknown --archiver %q: use auto, cp or wal-g", choice)
	}
}

// ShellQuote quotes s for a POSIX shell command line. Words made only of
// characters a shell leaves alone are returned as they are, so the seed's
// commands read exactly as in the seed; anything else (a lab path with a
// space) is single-quoted.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// commandPath is a path inside an archive_command or restore_command:
// shell-quoted, and with % doubled, since PostgreSQL replaces %f and %p.
func commandPath(p string) string {
	return strings.ReplaceAll(ShellQuote(p), "%", "%%")
}

// checkPrefetchDir refuses a WALG_PREFETCH_DIR outside the lab: WAL-G, as
// the server user, makes and fills that directory when it restores, and
// the lab is what walstep resets and cleans. Relative to the data dir
// (where restore_command runs), or under a data dir or the archive, is
// fine; unset is WAL-G's default, inside pg_wal.
func checkPrefetchDir(v any, b Backend, nodes []Node) error {
	if v == nil {
		return nil
	}
	dir, ok := v.(string)
	if !ok {
		return fmt.Errorf("WALG_PREFETCH_DIR must be a string, not %v", v)
	}
	if dir == "" {
		return nil
	}
	for _, c := range strings.Split(filepath.ToSlash(dir), "/") {
		if c == ".." {
			return fmt.Errorf("WALG_PREFETCH_DIR %q leaves the lab (..): leave it unset (WAL-G prefetches into pg_wal) or name a directory inside a data dir or the archive", dir)
		}
	}
	if !filepath.IsAbs(dir) {
		return nil
	}
	clean := filepath.Clean(dir)
	for _, n := range nodes {
		p := b.Paths(n)
		for _, root := range []string{p.Data, p.Storage} {
			if root != "" && (clean == root || strings.HasPrefix(clean, filepath.Clean(root)+"/")) {
				return nil
			}
		}
	}
	return fmt.Errorf("WALG_PREFETCH_DIR %q is outside the lab, where WAL-G would write as the server user: leave it unset (WAL-G prefetches into pg_wal) or name a directory inside a data dir or the archive", dir)
}
