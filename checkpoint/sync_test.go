package checkpoint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"walstep/cluster"
)

// tree lists every entry below the lab's generated dirs: path, type,
// mode, owner, a file's content hash, a link's target, a dir's mtime.
func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, name := range cluster.GeneratedNames() {
		base := filepath.Join(root, name)
		if _, err := os.Lstat(base); err != nil {
			continue
		}
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == spareDir {
				return filepath.SkipDir
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			st := info.Sys().(*syscall.Stat_t)
			rel, _ := filepath.Rel(root, p)
			line := fmt.Sprintf("%s %v %d:%d", rel, info.Mode(), st.Uid, st.Gid)
			switch {
			case info.Mode().IsRegular():
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				sum := sha256.Sum256(b)
				line += fmt.Sprintf(" %s mtime %d", hex.EncodeToString(sum[:8]), info.ModTime().UnixNano())
			case info.Mode()&fs.ModeSymlink != 0:
				target, _ := os.Readlink(p)
				line += " -> " + target
			case info.IsDir():
				line += fmt.Sprintf(" mtime %d", info.ModTime().UnixNano())
			}
			out = append(out, line)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}

func diffTrees(want, got []string) string {
	w, g := map[string]bool{}, map[string]bool{}
	for _, l := range want {
		w[l] = true
	}
	for _, l := range got {
		g[l] = true
	}
	var d []string
	for _, l := range want {
		if !g[l] {
			d = append(d, "- "+l)
		}
	}
	for _, l := range got {
		if !w[l] {
			d = append(d, "+ "+l)
		}
	}
	return strings.Join(d, "\n")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A restore that copies back only what changed gives back the tree the
// checkpoint was taken from, owners, modes and times included, whatever
// was done to the lab since: a file rewritten in place with its size and
// mtime put back, a chmod, a chown, new files and dirs, a dir removed, a
// dir replaced by a link to a dir outside (never written through), a FIFO
// and a link changed, an archive file added.
func TestRestoreCopiesBackWhatChanged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("keeping the servers' owners takes root")
	}
	root := t.TempDir()
	lab, err := cluster.InitLab(filepath.Join(root, "lab"))
	must(t, err)
	data := lab.Path(cluster.PrimaryData)
	must(t, os.MkdirAll(filepath.Join(data, "base", "5"), 0o700))
	must(t, os.MkdirAll(filepath.Join(data, "pg_notify"), 0o700))
	must(t, os.WriteFile(filepath.Join(data, "base", "5", "1259"), []byte("relation pages"), 0o600))
	must(t, os.WriteFile(filepath.Join(data, "PG_VERSION"), []byte("15\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(data, "postgresql.conf"), []byte("port = 5432\n"), 0o600))
	must(t, os.Chmod(filepath.Join(data, "base"), 0o2750))
	must(t, os.Symlink("../primary-config/postgresql.auto.conf", filepath.Join(data, "conf-link")))
	must(t, syscall.Mkfifo(filepath.Join(data, "fifo"), 0o640))
	must(t, os.MkdirAll(lab.Path(cluster.StorageDir, "wal"), 0o755))
	must(t, os.WriteFile(lab.Path(cluster.StorageDir, "wal", "000000010000000000000001"), []byte("segment"), 0o644))
	must(t, os.MkdirAll(lab.Path(cluster.PrimaryConfig), 0o755))
	filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		return os.Lchown(p, 999, 998)
	})
	s := &Store{Lab: lab}
	m, err := s.Take(context.Background(), Meta{Before: "12", Index: 19})
	must(t, err)
	taken := tree(t, lab.Dir)

	outside := t.TempDir()
	past := time.Now().Add(-time.Hour)
	f := filepath.Join(data, "PG_VERSION")
	st, _ := os.Stat(f)
	must(t, os.WriteFile(f, []byte("17\n"), 0o600)) // same size
	must(t, os.Chtimes(f, past, st.ModTime()))      // mtime put back
	must(t, os.Chmod(filepath.Join(data, "postgresql.conf"), 0o644))
	must(t, os.Lchown(filepath.Join(data, "base", "5", "1259"), 0, 0))
	must(t, os.WriteFile(filepath.Join(data, "base", "5", "new"), []byte("x"), 0o600))
	must(t, os.MkdirAll(filepath.Join(data, "pg_wal", "archive_status"), 0o700))
	must(t, os.RemoveAll(filepath.Join(data, "pg_notify")))
	must(t, os.Symlink(outside, filepath.Join(data, "pg_notify")))
	must(t, os.Remove(filepath.Join(data, "conf-link")))
	must(t, os.Symlink("/etc/passwd", filepath.Join(data, "conf-link")))
	must(t, os.Remove(filepath.Join(data, "fifo")))
	must(t, os.WriteFile(filepath.Join(data, "fifo"), []byte("a file now"), 0o600))
	must(t, os.WriteFile(lab.Path(cluster.StorageDir, "wal", "000000010000000000000002"), []byte("new"), 0o644))
	// An archive file the lab no longer shares with the checkpoint (a
	// copy of the same bytes): hard-linked again.
	seg := lab.Path(cluster.StorageDir, "wal", "000000010000000000000001")
	must(t, os.Remove(seg))
	must(t, os.WriteFile(seg, []byte("segment"), 0o644))
	must(t, os.RemoveAll(lab.Path(cluster.PrimaryConfig)))

	how, err := s.Restore(context.Background(), m)
	must(t, err)
	if !strings.Contains(how, "files copied back") {
		t.Fatalf("restore %q: want one copying back only what changed", how)
	}
	if d := diffTrees(taken, tree(t, lab.Dir)); d != "" {
		t.Fatalf("the restored lab is not the one taken (%s):\n%s", how, d)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("the restore wrote through the planted link: %d entries in its target", len(ents))
	}
	a, _ := os.Stat(seg)
	b, _ := os.Stat(filepath.Join(s.dir(), m.Name, cluster.StorageDir, "wal", "000000010000000000000001"))
	if !os.SameFile(a, b) || !strings.Contains(how, "1 linked") {
		t.Errorf("the archive file is not the checkpoint's again by a hard link (%s)", how)
	}
	t.Log(how)

	// Again, with nothing changed: nothing is copied.
	how, err = s.Restore(context.Background(), m)
	must(t, err)
	if how != "0 files copied back, 0 removed" {
		t.Errorf("restore of an unchanged lab: %q, want nothing copied", how)
	}
	if d := diffTrees(taken, tree(t, lab.Dir)); d != "" {
		t.Fatalf("restored again:\n%s", d)
	}

	// Without the record of the lab, a whole copy, the same tree.
	must(t, os.Remove(s.labStatePath()))
	must(t, os.WriteFile(filepath.Join(data, "base", "5", "1259"), []byte("changed"), 0o600))
	how, err = s.Restore(context.Background(), m)
	must(t, err)
	if how != "copied whole" {
		t.Errorf("restore without the record: %q, want a whole copy", how)
	}
	if d := diffTrees(taken, tree(t, lab.Dir)); d != "" {
		t.Fatalf("copied whole:\n%s", d)
	}
}
