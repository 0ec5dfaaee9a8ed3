package cluster

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// What the server user can plant in its directories is refused by the
// reader, at once: a FIFO (which would block the open), a link to a device
// (which never ends), a link to a root-only file, a directory that is a
// link, a file larger than the cap; a listing reports links, never
// following them.
func TestReadBelowRefusesWhatTheServerUserPlants(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	wal := filepath.Join(root, "data", "pg_wal")
	must(os.MkdirAll(wal, 0o755))
	secret := filepath.Join(t.TempDir(), "root-only")
	must(os.WriteFile(secret, []byte("1\t0/3000000\tTOP-SECRET\n"), 0o600))
	must(os.WriteFile(filepath.Join(wal, "00000002.history"), []byte("1\t0/2000100\tno recovery target specified\n"), 0o600))
	must(syscall.Mkfifo(filepath.Join(wal, "00000003.history"), 0o600))
	must(os.Symlink("/dev/zero", filepath.Join(wal, "00000004.history")))
	must(os.Symlink(secret, filepath.Join(wal, "00000005.history")))
	must(os.WriteFile(filepath.Join(wal, "big"), make([]byte, 2048), 0o600))
	must(os.Symlink(wal, filepath.Join(root, "data", "walink")))

	ctx := context.Background()
	start := time.Now()
	if b, err := ReadBelow(ctx, root, "data/pg_wal/00000002.history", 1024); err != nil || !strings.Contains(string(b), "no recovery target") {
		t.Errorf("a plain history file: %q, %v", b, err)
	}
	for _, name := range []string{"data/pg_wal/00000003.history", "data/pg_wal/00000004.history", "data/pg_wal/00000005.history", "data/walink/00000002.history"} {
		b, err := ReadBelow(ctx, root, name, 1024)
		if !errors.Is(err, ErrNotPlain) || len(b) != 0 {
			t.Errorf("%s: read %q, %v; want a refusal", name, b, err)
		}
		if err != nil && strings.Contains(err.Error(), "TOP-SECRET") {
			t.Errorf("%s: the error quotes the file: %v", name, err)
		}
	}
	if _, err := ReadBelow(ctx, root, "data/pg_wal/big", 1024); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a file over the cap: %v", err)
	}
	if _, err := ReadBelow(ctx, root, "data/pg_wal/missing", 1024); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := ReadBelow(ctx, root, "../etc/passwd", 1024); err == nil {
		t.Error("read a path that leaves its root")
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("refusals took %s", time.Since(start))
	}

	ents, err := ListBelow(ctx, root, "data/pg_wal")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]FileInfo{}
	for _, e := range ents {
		byName[e.Name] = e
	}
	if e := byName["00000004.history"]; e.Link != "/dev/zero" || e.Size == 0 && e.Link == "" {
		t.Errorf("the /dev/zero link lists as %+v", e)
	}
	if e := byName["00000005.history"]; e.Link != secret || e.Size != int64(len(secret)) {
		t.Errorf("the link to a root-only file lists as %+v (a size other than the link's own is a stat through it)", e)
	}
	if _, err := ListBelow(ctx, root, "data/walink"); !errors.Is(err, ErrNotPlain) || strings.Contains(err.Error(), "write") {
		t.Errorf("listing a directory that is a link: %v", err)
	}
	if fi, err := StatBelow(ctx, root, "data/walink"); err != nil || fi.Link != wal || fi.Dir {
		t.Errorf("stat of a link: %+v, %v", fi, err)
	}

	// A hard link to someone else's file is refused; walstep's own
	// files with hard links (same owner as the directory) are not.
	if os.Geteuid() == 0 {
		other := filepath.Join(root, "other")
		must(os.WriteFile(other, []byte("x\n"), 0o600))
		must(os.Chown(other, 65534, 65534))
		must(os.Link(other, filepath.Join(wal, "hard")))
		if _, err := ReadBelow(ctx, root, "data/pg_wal/hard", 1024); !errors.Is(err, ErrNotPlain) {
			t.Errorf("a hard link to another user's file: %v", err)
		}
	}
}

// A log planted as a link or a FIFO yields no lines and an error at once;
// a log with no newline in many megabytes is read only to the cap.
func TestTailFileRefusesLinksAndBoundsItsRead(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.log"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.log")); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"fifo.log", "zero.log"} {
		if lines, err := TailFile(filepath.Join(dir, n), 10); !errors.Is(err, ErrNotPlain) || len(lines) != 0 {
			t.Errorf("%s: %d lines, %v", n, len(lines), err)
		}
	}
	big := filepath.Join(dir, "big.log")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil { // sparse: 64 MiB of NULs
		t.Fatal(err)
	}
	f.Close()
	// The one line has no start within the cap: it is dropped as partial.
	lines, err := TailFile(big, 10)
	if err != nil || len(lines) != 0 {
		t.Errorf("a 64 MiB line: %d lines, %v", len(lines), err)
	}
}

// A read that does not end is abandoned at the deadline, and at once when
// the caller's context ends.
func TestReadDeadline(t *testing.T) {
	old := ReadTimeout
	ReadTimeout = 200 * time.Millisecond
	defer func() { ReadTimeout = old }()
	block := make(chan struct{})
	defer close(block)
	start := time.Now()
	_, err := withDeadline(context.Background(), "read x", func() (int, error) { <-block; return 0, nil })
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Errorf("after %s: %v", time.Since(start), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ReadTimeout = time.Hour
	if _, err := withDeadline(ctx, "read x", func() (int, error) { <-block; return 0, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
