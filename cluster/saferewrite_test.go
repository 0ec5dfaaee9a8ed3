package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A copied data dir's conf is rewritten in place, owner and mode kept, and
// whatever the server user planted in its name is refused without being
// read or written: a link (to a root-only file), a FIFO (no hang), a file
// with a second hard link (its other name keeps its bytes), a sparse
// file past the size cap (no gigabytes read).
func TestReplaceLinesRefusesPlanted(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, PrimaryData)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "root-only")
	if err := os.WriteFile(outside, []byte("archive_command = 'secret'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ours := func(l string) (string, bool) {
		return "archive_command = 'new'", strings.HasPrefix(l, "archive_command = ")
	}

	in := "#archive_command = ''\narchive_mode = on\narchive_command = 'old'\n"
	if err := os.WriteFile(filepath.Join(dir, "plain.conf"), []byte(in), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceLines(root, PrimaryData, "plain.conf", ours); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "plain.conf"))
	if want := "#archive_command = ''\narchive_mode = on\narchive_command = 'new'\n"; string(b) != want {
		t.Errorf("rewritten: %q, want %q", b, want)
	}
	if st, _ := os.Stat(filepath.Join(dir, "plain.conf")); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v not kept", st.Mode().Perm())
	}

	_ = os.Symlink(outside, filepath.Join(dir, "link.conf"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.conf"), 0o600); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.conf")
	other := filepath.Join(root, "elsewhere")
	_ = os.WriteFile(other, []byte("archive_command = 'other'\n"), 0o600)
	if err := os.Link(other, hard); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "sparse.conf"))
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Truncate(4 << 30)
	f.Close()
	for name, want := range map[string]error{"link.conf": ErrLink, "fifo.conf": ErrLink, "hard.conf": ErrLink, "sparse.conf": ErrTooLarge} {
		start := time.Now()
		err := ReplaceLines(root, PrimaryData, name, ours)
		if !errors.Is(err, want) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want %v naming it", name, err, want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %s", name, d)
		}
	}
	if b, _ := os.ReadFile(outside); string(b) != "archive_command = 'secret'\n" {
		t.Errorf("wrote through a link: %q", b)
	}
	if b, _ := os.ReadFile(other); string(b) != "archive_command = 'other'\n" {
		t.Errorf("wrote through a hard link: %q", b)
	}
	// A data dir swapped for a link is refused too.
	_ = os.Symlink(dir, filepath.Join(root, ReplicaData))
	if err := ReplaceLines(root, ReplicaData, "plain.conf", ours); !errors.Is(err, ErrLink) {
		t.Errorf("through a linked data dir: %v, want a refusal", err)
	}
}

// A copied data dir's config link is made anew for this lab, relative to
// the data dir opened without following a link; a data dir without one
// gets none, and something else in its name is refused, not replaced.
func TestLocalAdoptCopiedDataRelinks(t *testing.T) {
	lab, err := InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLocal(LocalOptions{Lab: lab, StopTimeout: 20 * time.Second})
	if err != nil {
		t.Skipf("NewLocal: %v", err)
	}
	for _, d := range []string{PrimaryData, ReplicaData} {
		if err := os.MkdirAll(lab.Path(d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/elsewhere/primary-config", lab.Path(PrimaryData, ConfigLink)); err != nil {
		t.Fatal(err)
	}
	if err := l.AdoptCopiedData(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.Readlink(lab.Path(PrimaryData, ConfigLink)); got != l.ConfigDir(Primary) {
		t.Errorf("primary's config link: %q, want %q", got, l.ConfigDir(Primary))
	}
	if _, err := os.Lstat(lab.Path(ReplicaData, ConfigLink)); !os.IsNotExist(err) {
		t.Errorf("the replica's data dir had no config link and has one now: %v", err)
	}
	if err := os.Mkdir(lab.Path(ReplicaData, ConfigLink), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := l.AdoptCopiedData(context.Background()); err == nil || !strings.Contains(err.Error(), "not a symlink") {
		t.Errorf("a directory as the config link: %v, want a refusal", err)
	}
}
