package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"walstep/cluster"
	"walstep/explore"
)

// explore's outputs go through the one writer of user-named files: never
// through a link, an existing --markdown kept unless --force, 0600.
func TestExploreResultsAreWrittenSafely(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "results")
	if err := os.Mkdir(results, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "precious.txt")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "matrix-link.md")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	m := &explore.Matrix{}
	for _, force := range []bool{false, true} {
		if err := writeResults(m, results, link, force); err == nil {
			t.Errorf("--markdown through a link (force=%v) succeeded", force)
		}
		_ = os.Remove(filepath.Join(results, "matrix.json"))
		_ = os.Remove(filepath.Join(results, "matrix.md"))
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target changed: %q", b)
	}
	plain := filepath.Join(dir, "m.md")
	if err := os.WriteFile(plain, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeResults(m, results, plain, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("an existing --markdown without --force: %v", err)
	}
	_ = os.Remove(filepath.Join(results, "matrix.json"))
	_ = os.Remove(filepath.Join(results, "matrix.md"))
	if err := writeResults(m, results, plain, true); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{plain, filepath.Join(results, "matrix.md"), filepath.Join(results, "matrix.json")} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, st.Mode().Perm())
		}
	}
}

// Under auto, explore says when run would take another backend on the
// same lab: run needs --image and --init-image, explore a column's image.
func TestRunBackendNoteOnTheRealEngine(t *testing.T) {
	requireDockerE2E(t)
	ctx := t.Context()
	ok, err := cluster.ImageExists(ctx, defaultImage)
	if err != nil {
		t.Fatal(err)
	}
	okInit, err := cluster.ImageExists(ctx, cluster.DefaultInitImage)
	if err != nil {
		t.Fatal(err)
	}
	note := explore.RunBackendNote(ctx, "auto", "docker", defaultImage, cluster.DefaultInitImage)
	if ok && okInit {
		if note != "" {
			t.Fatalf("run's images are here, yet: %s", note)
		}
	} else if !strings.Contains(note, "walstep run on this lab would take the local backend") {
		t.Fatalf("run's images are missing and explore took docker, but the note is %q", note)
	}
	if got := explore.RunBackendNote(ctx, "docker", "docker", defaultImage, cluster.DefaultInitImage); got != "" {
		t.Fatalf("a backend asked for by name got a note: %s", got)
	}
}
