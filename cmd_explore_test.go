package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteUserFileNeverFollowsALink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "precious.txt")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "matrix.md")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := writeUserFile(link, "matrix"); err == nil {
		t.Error("wrote through a symlink")
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target changed: %q", b)
	}
	plain := filepath.Join(dir, "m.md")
	if err := writeUserFile(plain, "one"); err != nil {
		t.Fatal(err)
	}
	if err := writeUserFile(plain, "two"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(plain); string(b) != "two" {
		t.Errorf("got %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Errorf("temporary files left: %v", ents)
	}
}
