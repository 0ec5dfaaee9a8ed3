package cluster

import (
	"os"
	"path/filepath"
	"testing"
)

// labPopulate fills every generated dir and returns the editable files
// with their content.
func labPopulate(t *testing.T, lab *Lab) map[string]string {
	t.Helper()
	for _, d := range lab.GeneratedNames() {
		labWriteFile(t, lab.Path(d, "sub", "file"), d)
	}
	keep := map[string]string{
		PrimaryRestore: "# edited primary\n",
		ReplicaRestore: DefaultReplicaRestore,
		ReplicaStandby: "# edited standby\n",
		WalgJSON:       `{"WALG_FILE_PREFIX":"/x"}`,
		LabReadme:      labReadFile(t, lab.Path(LabReadme)),
		filepath.Join(HooksDir, "after-4c.primary.sh"): "echo hi\n",
		"notes.txt": "my notes\n",
	}
	for name, content := range keep {
		labWriteFile(t, lab.Path(name), content)
	}
	keep[MarkerFile] = labReadFile(t, lab.Path(MarkerFile))
	return keep
}

func TestLabResetKeepsEditableFiles(t *testing.T) {
	lab := labT(t)
	keep := labPopulate(t, lab)
	var removed []string
	if err := lab.Reset(func(p string) error { removed = append(removed, p); return os.RemoveAll(p) }); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	for _, p := range lab.Generated() {
		if labExists(p) {
			t.Errorf("Reset left %s", p)
		}
	}
	if len(removed) != len(lab.GeneratedNames()) {
		t.Errorf("remover called for %v", removed)
	}
	for _, p := range removed {
		if filepath.Dir(p) != lab.Dir {
			t.Errorf("remover called for %s, not a top-level lab dir", p)
		}
	}
	for name, content := range keep {
		if got := labReadFile(t, lab.Path(name)); got != content {
			t.Errorf("Reset changed %s: %q", name, got)
		}
	}
	// A reset of a reset lab is fine, and the lab still opens.
	if err := lab.Reset(nil); err != nil {
		t.Fatalf("second Reset: %v", err)
	}
	if _, err := OpenLab(lab.Dir); err != nil {
		t.Fatalf("OpenLab after Reset: %v", err)
	}
}

func TestLabResetRefusesSymlinkedGeneratedDir(t *testing.T) {
	for _, name := range (&Lab{}).GeneratedNames() {
		t.Run(name, func(t *testing.T) {
			lab := labT(t)
			outside := t.TempDir()
			target := filepath.Join(outside, "precious")
			labWriteFile(t, filepath.Join(target, "data"), "outside content")
			if err := os.Symlink(target, lab.Path(name)); err != nil {
				t.Fatal(err)
			}
			err := lab.Reset(nil)
			labOneLine(t, "Reset with "+name+" a symlink out", err, "symlink")
			if got := labReadFile(t, filepath.Join(target, "data")); got != "outside content" {
				t.Fatalf("outside target changed: %q", got)
			}
			if st, err := os.Lstat(lab.Path(name)); err != nil || st.Mode()&os.ModeSymlink == 0 {
				t.Fatalf("the symlink itself is gone or changed: %v", err)
			}
			if !labExists(lab.Path(MarkerFile)) || !labExists(lab.Path(PrimaryRestore)) {
				t.Fatal("Reset removed editable files")
			}
		})
	}
}

// Symlinks inside a generated dir (a restored data dir carries one to its
// config dir) are removed as links: what they point at stays.
func TestLabResetDoesNotFollowInnerSymlinks(t *testing.T) {
	lab := labT(t)
	outside := t.TempDir()
	labWriteFile(t, filepath.Join(outside, "data"), "outside content")
	labWriteFile(t, lab.Path(PrimaryData, "PG_VERSION"), "15\n")
	if err := os.Symlink(outside, lab.Path(PrimaryData, "custom-pg-configs")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "data"), lab.Path(PrimaryData, "file-link")); err != nil {
		t.Fatal(err)
	}
	if err := lab.Reset(nil); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if labExists(lab.Path(PrimaryData)) {
		t.Fatal("primary-data not removed")
	}
	if got := labReadFile(t, filepath.Join(outside, "data")); got != "outside content" {
		t.Fatalf("outside file changed: %q", got)
	}
}

func TestLabReadFile(t *testing.T) {
	lab := labT(t)
	if _, err := lab.ReadFile(PrimaryRestore); err != nil {
		t.Fatal(err)
	}
	os.Remove(lab.Path(PrimaryRestore))
	_, err := lab.ReadFile(PrimaryRestore)
	labOneLine(t, "ReadFile of a missing file", err, PrimaryRestore, "walstep init")
}
