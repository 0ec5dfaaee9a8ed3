package cluster

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// labT makes a fresh lab in a test temp dir.
func labT(t *testing.T) *Lab {
	t.Helper()
	lab, err := InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatalf("InitLab: %v", err)
	}
	return lab
}

func labWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func labReadFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

func labExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// labOneLine checks err is non-nil, one line, and mentions each of subs.
func labOneLine(t *testing.T, what string, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Fatalf("%s: error is not one line: %q", what, msg)
	}
	for _, s := range subs {
		if !strings.Contains(msg, s) {
			t.Fatalf("%s: error %q does not mention %q", what, msg, s)
		}
	}
}

func TestLabInitWritesMarkerAndDefaults(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "lab") // parents created too
	lab, err := InitLab(dir)
	if err != nil {
		t.Fatalf("InitLab: %v", err)
	}
	if !filepath.IsAbs(lab.Dir) {
		t.Fatalf("lab dir %q is not absolute", lab.Dir)
	}
	var m Marker
	if err := json.Unmarshal([]byte(labReadFile(t, lab.Path(MarkerFile))), &m); err != nil {
		t.Fatalf("marker is not JSON: %v", err)
	}
	if m.Tool != "walstep" || m.Version != LabVersion || m.Created.IsZero() {
		t.Fatalf("marker %+v", m)
	}
	for name, want := range map[string]string{
		PrimaryRestore: DefaultPrimaryRestore,
		ReplicaRestore: DefaultReplicaRestore,
		ReplicaStandby: DefaultReplicaStandby,
		WalgJSON:       DefaultWalgJSON,
	} {
		if got := labReadFile(t, lab.Path(name)); got != want {
			t.Fatalf("%s = %q, want the default", name, got)
		}
	}
	// The defaults are the ones that reproduce the bug (DESIGN.md).
	for name, sub := range map[string]string{
		PrimaryRestore: "recovery_target_action = 'promote'",
		ReplicaRestore: "recovery_target_action = 'shutdown'",
		ReplicaStandby: "primary_slot_name = 'replica'",
	} {
		if !strings.Contains(labReadFile(t, lab.Path(name)), sub) {
			t.Fatalf("%s lacks %q", name, sub)
		}
	}
	if st, err := os.Stat(lab.Path(HooksDir)); err != nil || !st.IsDir() {
		t.Fatalf("hooks dir: %v", err)
	}
	if !labExists(lab.Path(LabReadme)) {
		t.Fatal("no lab README")
	}
	opened, err := OpenLab(dir)
	if err != nil {
		t.Fatalf("OpenLab of a fresh lab: %v", err)
	}
	if opened.Dir != lab.Dir {
		t.Fatalf("OpenLab dir %q, InitLab dir %q", opened.Dir, lab.Dir)
	}
}

func TestLabReinitKeepsUserEdits(t *testing.T) {
	lab := labT(t)
	marker := labReadFile(t, lab.Path(MarkerFile))
	edited := "# my edit\nrecovery_target_action = 'pause'\n"
	labWriteFile(t, lab.Path(PrimaryRestore), edited)
	labWriteFile(t, lab.Path(HooksDir, "after-13.primary.sql"), "select 1;\n")
	if err := os.Remove(lab.Path(ReplicaStandby)); err != nil {
		t.Fatal(err)
	}

	again, err := InitLab(lab.Dir)
	if err != nil {
		t.Fatalf("re-init: %v", err)
	}
	if got := labReadFile(t, again.Path(PrimaryRestore)); got != edited {
		t.Fatalf("re-init overwrote an edit: %q", got)
	}
	if got := labReadFile(t, again.Path(HooksDir, "after-13.primary.sql")); got != "select 1;\n" {
		t.Fatalf("re-init changed a hook: %q", got)
	}
	if got := labReadFile(t, again.Path(ReplicaStandby)); got != DefaultReplicaStandby {
		t.Fatalf("re-init did not restore a deleted default: %q", got)
	}
	if got := labReadFile(t, again.Path(MarkerFile)); got != marker {
		t.Fatal("re-init rewrote the marker")
	}
}

func TestLabInitRefusesForeignDir(t *testing.T) {
	dir := t.TempDir()
	labWriteFile(t, filepath.Join(dir, "thesis.tex"), "precious")
	_, err := InitLab(dir)
	labOneLine(t, "InitLab on a non-empty dir", err, "not empty", "not made by walstep")
	if labExists(filepath.Join(dir, MarkerFile)) || labExists(filepath.Join(dir, PrimaryRestore)) {
		t.Fatal("InitLab wrote into a foreign dir")
	}
	if got := labReadFile(t, filepath.Join(dir, "thesis.tex")); got != "precious" {
		t.Fatal("InitLab touched a foreign file")
	}

	// A file where the lab should be.
	f := filepath.Join(t.TempDir(), "file")
	labWriteFile(t, f, "x")
	_, err = InitLab(f)
	labOneLine(t, "InitLab on a file", err, "not a directory")

	// An empty existing dir is fine.
	if _, err := InitLab(t.TempDir()); err != nil {
		t.Fatalf("InitLab on an empty dir: %v", err)
	}
}

func TestLabOpenRefuses(t *testing.T) {
	t.Run("missing dir", func(t *testing.T) {
		_, err := OpenLab(filepath.Join(t.TempDir(), "nope"))
		labOneLine(t, "OpenLab of a missing dir", err, "walstep init")
	})
	t.Run("no marker", func(t *testing.T) {
		dir := t.TempDir()
		labWriteFile(t, filepath.Join(dir, PrimaryRestore), DefaultPrimaryRestore)
		_, err := OpenLab(dir)
		labOneLine(t, "OpenLab without marker", err, MarkerFile, "walstep init")
	})
	t.Run("unreadable marker", func(t *testing.T) {
		lab := labT(t)
		labWriteFile(t, lab.Path(MarkerFile), "{not json")
		_, err := OpenLab(lab.Dir)
		labOneLine(t, "OpenLab with garbage marker", err, "unreadable")
	})
	t.Run("marker of another tool", func(t *testing.T) {
		lab := labT(t)
		labWriteFile(t, lab.Path(MarkerFile), `{"tool":"other","version":1}`)
		_, err := OpenLab(lab.Dir)
		labOneLine(t, "OpenLab with a foreign marker", err, "unreadable")
	})
	t.Run("marker is a directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, MarkerFile), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := OpenLab(dir)
		labOneLine(t, "OpenLab with a marker dir", err, MarkerFile)
	})
	t.Run("other version", func(t *testing.T) {
		lab := labT(t)
		labWriteFile(t, lab.Path(MarkerFile), `{"tool":"walstep","version":99,"created":"2020-01-01T00:00:00Z"}`)
		_, err := OpenLab(lab.Dir)
		labOneLine(t, "OpenLab of another version", err, "version 99", "new directory")
	})
}

func TestLabCheckRemovableRefuses(t *testing.T) {
	lab := labT(t)
	outside := t.TempDir()
	labWriteFile(t, filepath.Join(outside, "keep"), "outside content")
	home, _ := os.UserHomeDir()
	if err := os.MkdirAll(lab.Path(PrimaryData, "base"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A data dir that is a symlink leading out of the lab.
	if err := os.Symlink(outside, lab.Path(ReplicaData)); err != nil {
		t.Fatal(err)
	}
	// A symlink deeper inside the lab that leads out.
	if err := os.Symlink(outside, lab.Path(PrimaryData, "escape")); err != nil {
		t.Fatal(err)
	}
	// A relative symlink inside the lab that leads out.
	if err := os.Symlink("../..", lab.Path(PrimaryData, "up")); err != nil {
		t.Fatal(err)
	}

	for name, p := range map[string]string{
		"root":                     "/",
		"home":                     home,
		"the lab's parent":         filepath.Dir(lab.Dir),
		"dotdot out of the lab":    lab.Path("..", "elsewhere"),
		"dotdot text out":          lab.Dir + "/" + PrimaryData + "/../../" + filepath.Base(outside),
		"dotdot sibling prefix":    lab.Dir + "-sibling/x",
		"relative dotdot":          "../../../../../../..",
		"the lab itself":           lab.Dir,
		"the lab with slash":       lab.Dir + "/",
		"the lab via dot":          lab.Path(PrimaryData, ".."),
		"the marker":               lab.Path(MarkerFile),
		"the marker via dotdot":    lab.Path(PrimaryData, "..", MarkerFile),
		"symlinked data dir":       lab.Path(ReplicaData),
		"inside symlinked dir":     lab.Path(ReplicaData, "keep"),
		"symlink inside leads out": lab.Path(PrimaryData, "escape"),
		"through inner symlink":    lab.Path(PrimaryData, "escape", "keep"),
		"relative symlink":         lab.Path(PrimaryData, "up"),
		"outside dir":              outside,
	} {
		if err := lab.CheckRemovable(p); err == nil {
			t.Errorf("%s: CheckRemovable(%q) allowed it", name, p)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error not one line: %q", name, err)
		}
		called := false
		err := lab.Remove(func(string) error { called = true; return nil }, p)
		if err == nil || called {
			t.Errorf("%s: Remove(%q) went ahead (err %v)", name, p, err)
		}
	}
	if got := labReadFile(t, filepath.Join(outside, "keep")); got != "outside content" {
		t.Fatal("something outside the lab changed")
	}

	// Allowed: inside the lab, existing or not.
	for _, p := range []string{lab.Path(PrimaryData), lab.Path(PrimaryData, "base"), lab.Path("not-yet", "deeper"), lab.Path(ReplicaConfig, ReplicaRestore)} {
		if err := lab.CheckRemovable(p); err != nil {
			t.Errorf("CheckRemovable(%q): %v", p, err)
		}
	}

	var nilLab *Lab
	if err := nilLab.CheckRemovable("/tmp/x"); err == nil {
		t.Error("a nil lab allowed a delete")
	}
	if err := (&Lab{}).CheckRemovable("/tmp/x"); err == nil {
		t.Error("an empty lab allowed a delete")
	}
}

func TestLabRemoveRefusesWithoutMarker(t *testing.T) {
	lab := labT(t)
	labWriteFile(t, lab.Path(PrimaryData, "PG_VERSION"), "15\n")
	if err := os.Remove(lab.Path(MarkerFile)); err != nil {
		t.Fatal(err)
	}
	err := lab.Remove(nil, lab.Path(PrimaryData))
	labOneLine(t, "Remove in a lab without marker", err, MarkerFile)
	if err := lab.Reset(nil); err == nil {
		t.Fatal("Reset of a lab without marker went ahead")
	}
	if !labExists(lab.Path(PrimaryData, "PG_VERSION")) {
		t.Fatal("a file was deleted in a lab without marker")
	}
}

func TestLabRemove(t *testing.T) {
	lab := labT(t)
	labWriteFile(t, lab.Path(ReplicaConfig, ReplicaRestore), "x")
	if err := lab.Remove(nil, lab.Path(ReplicaConfig, ReplicaRestore)); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if labExists(lab.Path(ReplicaConfig, ReplicaRestore)) {
		t.Fatal("not removed")
	}
	if !labExists(lab.Path(ReplicaConfig)) {
		t.Fatal("removed more than asked")
	}
	// Removing what is not there is fine.
	if err := lab.Remove(nil, lab.Path(ReplicaConfig, "gone")); err != nil {
		t.Fatalf("Remove of a missing file: %v", err)
	}
}
