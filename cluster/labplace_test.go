package cluster

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// A lab inside another lab is refused wherever it would go, in the outer
// lab's generated dirs above all (its reset would delete the inner one);
// the labs explore makes in a lab's explore/ are the exception.
func TestLabInsideALabIsRefused(t *testing.T) {
	outer := labT(t)
	for _, sub := range []string{PrimaryData, LogsDir, HooksDir, "notes"} {
		if err := os.MkdirAll(outer.Path(sub), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := InitLab(outer.Path(sub, "inner"))
		labOneLine(t, "init in "+sub, err, "inside the lab "+outer.Dir)
		if labExists(outer.Path(sub, "inner")) {
			t.Errorf("init in %s made the directory", sub)
		}
	}
	// A lab made inside before the check (an older walstep, a copy) is
	// refused when opened, and a reset of the outer lab keeps it.
	inner := outer.Path(LogsDir, "inner")
	labWriteFile(t, filepath.Join(inner, MarkerFile), `{"tool":"walstep","version":1}`)
	labWriteFile(t, filepath.Join(inner, PrimaryRestore), "mine\n")
	_, err := OpenLab(inner)
	labOneLine(t, "open inner", err, "inside the lab")
	labOneLine(t, "reset outer", outer.Reset(nil), "refuse to delete", "holds the lab "+inner)
	if labReadFile(t, filepath.Join(inner, PrimaryRestore)) != "mine\n" {
		t.Error("the inner lab's conf is gone")
	}
	if _, err := InitLab(outer.Path(ExploreDir, "20260101-000000", "run-1", "lab")); err != nil {
		t.Errorf("explore's run lab refused: %v", err)
	}
}

// A lab under a directory another user may change is refused: one the
// server user owns, one writable by all without the sticky bit. /tmp
// (sticky) is fine.
func TestLabUnderAWritableDirIsRefused(t *testing.T) {
	base := t.TempDir()
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := InitLab(filepath.Join(open, "lab"))
	labOneLine(t, "init under 0777", err, open, "writable by other users")

	sticky := filepath.Join(base, "sticky")
	if err := os.Mkdir(sticky, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sticky, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if _, err := InitLab(filepath.Join(sticky, "lab")); err != nil {
		t.Errorf("init under a sticky dir: %v", err)
	}

	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("no postgres user")
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		theirs := filepath.Join(base, "theirs")
		if err := os.Mkdir(theirs, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(theirs, uid, gid); err != nil {
			t.Fatal(err)
		}
		_, err = InitLab(filepath.Join(theirs, "lab"))
		labOneLine(t, "init under postgres's dir", err, theirs, "belongs to user postgres")
		// An existing lab whose parent was handed over is refused too.
		lab := labT(t)
		if err := os.Chown(filepath.Dir(lab.Dir), uid, gid); err != nil {
			t.Fatal(err)
		}
		_, err = OpenLab(lab.Dir)
		labOneLine(t, "open under postgres's dir", err, "belongs to user postgres")
	}
}

func TestLabPathWithAControlCharacterIsRefused(t *testing.T) {
	for _, name := range []string{"a\nb", "tab\there", "esc\x1b[2J"} {
		p := filepath.Join(t.TempDir(), name)
		_, err := InitLab(p)
		labOneLine(t, "init "+strconv.Quote(name), err, "control character")
		if labExists(p) {
			t.Errorf("init %q made the directory", name)
		}
	}
}

// Directories made under the lab never go through a link: run/ swapped
// for a link (as a hook running as the server user could) makes walstep
// refuse, not create and chown directories where the link points.
func TestLabMkdirAllNeverFollowsALink(t *testing.T) {
	lab := labT(t)
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, lab.Path(RunDir)); err != nil {
		t.Fatal(err)
	}
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		uid, gid = 12345, 12345
	}
	for _, p := range []string{lab.Path(RunDir, "home"), lab.Path(RunDir, SocketsDir), lab.Path(RunDir)} {
		labOneLine(t, "mkdir "+p, lab.MkdirAll(p, 0o700, uid, gid), "symbolic link")
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) > 0 {
		t.Errorf("directories made through the link: %v", ents)
	}
	st, _ := os.Stat(elsewhere)
	if st.Mode().Perm() == 0o700 {
		t.Errorf("the link's target was chmod'ed")
	}
	// Outside the lab is refused outright; inside, a plain path works,
	// with the mode and owner asked for.
	labOneLine(t, "mkdir outside", lab.MkdirAll(filepath.Join(elsewhere, "x"), 0o755, -1, -1), "outside the lab")
	if err := os.Remove(lab.Path(RunDir)); err != nil {
		t.Fatal(err)
	}
	if err := lab.MkdirAll(lab.Path(RunDir, SocketsDir), 0o700, uid, gid); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(lab.Path(RunDir, SocketsDir))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("made %v %v", st, err)
	}
}
