package outfile

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// within fails the test when f does not return in time: a FIFO must never
// block a writer.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still blocked after 10s", what)
	}
}

func TestRefusesFIFOWithAndWithoutReplace(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, replace := range []bool{false, true} {
		within(t, "Create on a FIFO", func() {
			if f, err := Create(p, replace); err == nil {
				f.Close()
				t.Errorf("Create(FIFO, replace=%v) succeeded", replace)
			} else if !strings.Contains(err.Error(), "FIFO") {
				t.Errorf("Create(FIFO, replace=%v): %v, want it named a FIFO", replace, err)
			}
		})
		within(t, "WriteFile on a FIFO", func() {
			if err := WriteFile(p, []byte("x"), replace); err == nil {
				t.Errorf("WriteFile(FIFO, replace=%v) succeeded", replace)
			}
		})
	}
	if st, err := os.Lstat(p); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v %v", st, err)
	}
}

func TestNeverWritesThroughALink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, link := range []string{filepath.Join(dir, "link"), filepath.Join(dir, "dangling")} {
		dest := target
		if strings.HasSuffix(link, "dangling") {
			dest = filepath.Join(dir, "nowhere")
		}
		if err := os.Symlink(dest, link); err != nil {
			t.Fatal(err)
		}
		for _, replace := range []bool{false, true} {
			if f, err := Create(link, replace); err == nil {
				f.Close()
				t.Errorf("Create(%s, replace=%v) succeeded", link, replace)
			}
			if err := WriteFile(link, []byte("x"), replace); err == nil {
				t.Errorf("WriteFile(%s, replace=%v) succeeded", link, replace)
			}
		}
		if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a link", link)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "keep me" {
		t.Errorf("the link's target changed: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); err == nil {
		t.Error("a dangling link's target was created")
	}
}

func TestExistingNeedsReplace(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.md")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(p, false); !errors.Is(err, ErrExists) {
		t.Errorf("Create(existing) = %v, want ErrExists", err)
	}
	if err := WriteFile(p, []byte("x"), false); !errors.Is(err, ErrExists) {
		t.Errorf("WriteFile(existing) = %v, want ErrExists", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("the file changed: %q", b)
	}
}

// Replacing makes a new file of mode 0600: another hard link to the old
// one keeps the old bytes and the old mode.
func TestReplaceIsANewFile0600(t *testing.T) {
	dir := t.TempDir()
	for name, write := range map[string]func(string) error{
		"Create": func(p string) error {
			f, err := Create(p, true)
			if err != nil {
				return err
			}
			f.WriteString("new")
			return f.Close()
		},
		"WriteFile": func(p string) error { return WriteFile(p, []byte("new"), true) },
	} {
		p := filepath.Join(dir, name+".md")
		other := filepath.Join(dir, name+".other")
		if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(p, other); err != nil {
			t.Fatal(err)
		}
		if err := write(p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		st, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 || !st.Mode().IsRegular() {
			t.Errorf("%s: replaced file has mode %v, want -rw-------", name, st.Mode())
		}
		if b, _ := os.ReadFile(p); string(b) != "new" {
			t.Errorf("%s: file holds %q", name, b)
		}
		ost, _ := os.Lstat(other)
		if b, _ := os.ReadFile(other); string(b) != "old" || ost.Mode().Perm() != 0o644 {
			t.Errorf("%s: the old file's other link changed: %q %v", name, b, ost.Mode())
		}
		if ents, _ := filepath.Glob(filepath.Join(dir, ".*walstep-*")); len(ents) > 0 {
			t.Errorf("%s: temporary files left: %v", name, ents)
		}
	}
}

func TestNewFileIs0600WhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0o277)
	defer syscall.Umask(old)
	p := filepath.Join(t.TempDir(), "new.md")
	if err := WriteFile(p, []byte("x"), false); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestRefusesDirectoryAndDevice(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{dir, "/dev/null"} {
		if _, err := Create(p, true); err == nil {
			t.Errorf("Create(%s, replace) succeeded", p)
		}
		if err := WriteFile(p, []byte("x"), true); err == nil {
			t.Errorf("WriteFile(%s, replace) succeeded", p)
		}
	}
	if st, err := os.Lstat("/dev/null"); err != nil || st.Mode()&os.ModeDevice == 0 {
		t.Fatalf("/dev/null changed: %v %v", st, err)
	}
}

// fullDisk mounts a tiny tmpfs, so writes fail with ENOSPC for real.
func fullDisk(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

func TestFullDiskIsAnError(t *testing.T) {
	dir := fullDisk(t)
	big := []byte(strings.Repeat("x", 200<<10))

	p := filepath.Join(dir, "stream.md")
	f, err := Create(p, false)
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for i := 0; i < 50 && werr == nil; i++ {
		_, werr = f.Write(big[:8192])
	}
	if werr == nil || !errors.Is(werr, syscall.ENOSPC) {
		t.Errorf("writing 400 KiB to a 64 KiB disk: %v, want ENOSPC", werr)
	}
	if err := f.Close(); err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Errorf("Close after a failed write = %v, want the ENOSPC error", err)
	}

	// A whole file that does not fit leaves nothing behind.
	q := filepath.Join(dir, "whole.md")
	if err := WriteFile(q, big, false); err == nil {
		t.Error("WriteFile of 200 KiB on a 64 KiB disk succeeded")
	}
	if _, err := os.Lstat(q); err == nil {
		t.Error("a partial whole file was left")
	}
	// Replacing: the old file stays as it was.
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	r := filepath.Join(dir, "keep.md")
	if err := os.WriteFile(r, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(r, big, true); err == nil {
		t.Error("WriteFile(replace) of 200 KiB on a 64 KiB disk succeeded")
	}
	if b, _ := os.ReadFile(r); string(b) != "old" {
		t.Errorf("a failed replace changed the file: %d bytes", len(b))
	}
}
