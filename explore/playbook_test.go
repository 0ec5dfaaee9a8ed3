package explore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"walstep/cluster"
	"walstep/playbook"
)

// What explore shares comes from the playbook: the seed's runs share
// 0–7; a playbook whose prefix differs shares under another key; a
// variant that carries its own playbook.md shares none.
func TestSharedPrefixFollowsThePlaybook(t *testing.T) {
	lab := newLab(t)
	vs, _ := LoadVariants(lab)
	col := Column{PG: 15, Archiver: "cp"}
	seed := playbook.Seed()
	if got := shareUntil(seed); got != "8" || prefixRange(seed) != "0–7" {
		t.Errorf("seed: shares until %s (%s), want 8 (0–7)", got, prefixRange(seed))
	}
	src, err := os.ReadFile("../testdata/playbooks/switch-wal.md")
	if err != nil {
		t.Fatal(err)
	}
	sw, err := playbook.Parse("switch-wal.md", src)
	if err != nil {
		t.Fatal(err)
	}
	if got := prefixRange(sw); got != "0–1" {
		t.Errorf("switch-wal: shares %s, want 0–1 (its backup is fetched only after a conf is read)", got)
	}
	if prefixKey(lab, vs[0], col, prefixSteps(seed)) == prefixKey(lab, vs[0], col, prefixSteps(sw)) {
		t.Error("two playbooks' prefixes share a key")
	}
	// A step of the prefix edited: another key.
	edited, err := playbook.Parse("seed.md", []byte(strings.Replace(string(mustSeed(t)), "initdb primary", "initdb primary\nsay edited", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if prefixKey(lab, vs[0], col, prefixSteps(seed)) == prefixKey(lab, vs[0], col, prefixSteps(edited)) {
		t.Error("an edited prefix step keeps the key")
	}
	dir := lab.Path(VariantsDir, "own-playbook")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, cluster.PlaybookFile), src, 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := loadVariant(lab.Path(VariantsDir), "own-playbook")
	if err != nil {
		t.Fatal(err)
	}
	if k := prefixKey(lab, v, col, prefixSteps(seed)); k != "" {
		t.Errorf("a variant with its own playbook.md shares prefix %s", k)
	}
}

func mustSeed(t *testing.T) []byte {
	b, err := playbook.BuiltinSource("seed")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
