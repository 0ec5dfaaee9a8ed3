package explore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"walstep/cluster"
	"walstep/playbook"
)

func newLab(t *testing.T) *cluster.Lab {
	t.Helper()
	lab, err := cluster.InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteCatalogue(lab); err != nil {
		t.Fatal(err)
	}
	return lab
}

func TestCatalogueLoadsWithDescriptions(t *testing.T) {
	lab := newLab(t)
	vs, err := LoadVariants(lab)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != len(BuiltinNames()) || vs[0].Name != "default" {
		t.Fatalf("variants %v, want the catalogue %v with default first", vs, BuiltinNames())
	}
	for _, v := range vs {
		if v.Description == "" {
			t.Errorf("variant %s has no README line", v.Name)
		}
	}
	sw, _ := SelectVariants(vs, []string{"switch-after-13"})
	if got := strings.Join(sw[0].Files, ","); got != "hooks/after-13.primary.sql" {
		t.Errorf("switch-after-13 files %q", got)
	}
}

func TestWriteCatalogueKeepsEditedVariant(t *testing.T) {
	lab := newLab(t)
	p := lab.Path(VariantsDir, "no-target", ReadmeFile)
	if err := os.WriteFile(p, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteCatalogue(lab); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "mine\n" {
		t.Errorf("a second catalogue write replaced the user's README: %q", b)
	}
}

func TestVariantWithUnknownFilesIsRefusedByName(t *testing.T) {
	lab := newLab(t)
	dir := lab.Path(VariantsDir, "odd")
	for _, f := range []string{"postgresql.conf", "hooks/notes.txt", primaryRestore()} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := LoadVariants(lab)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SelectVariants(vs, []string{"default"}); err != nil {
		t.Errorf("a bad variant stops another one from running: %v", err)
	}
	_, err = SelectVariants(vs, []string{"odd"})
	if err == nil || !strings.Contains(err.Error(), "postgresql.conf") || !strings.Contains(err.Error(), "hooks/notes.txt") || strings.Contains(err.Error(), "holds files walstep does not know: "+primaryRestore()) {
		t.Fatalf("err = %v, want both unknown files named (and the known one not)", err)
	}
}

func primaryRestore() string { return cluster.PrimaryRestore }

func TestUnknownVariantNamesWhatExists(t *testing.T) {
	lab := newLab(t)
	vs, _ := LoadVariants(lab)
	_, err := SelectVariants(vs, []string{"default", "nope"})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "no-target") {
		t.Fatalf("err = %v", err)
	}
}

func TestApplyOverlaysVariantOnLab(t *testing.T) {
	base := newLab(t)
	if err := os.WriteFile(base.Path(cluster.ReplicaStandby), []byte("edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base.Path(cluster.HooksDir, "after-12.primary.sql"), []byte("select 1;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vs, _ := LoadVariants(base)
	nt, _ := SelectVariants(vs, []string{"no-target"})
	dst, err := cluster.InitLab(filepath.Join(t.TempDir(), "run"))
	if err != nil {
		t.Fatal(err)
	}
	if err := nt[0].Apply(base, dst); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string { b, _ := os.ReadFile(dst.Path(p)); return string(b) }
	if !strings.Contains(read(cluster.PrimaryRestore), "#recovery_target = 'immediate'") {
		t.Errorf("variant's primary_restore.conf not applied: %q", read(cluster.PrimaryRestore))
	}
	if read(cluster.ReplicaStandby) != "edited\n" {
		t.Errorf("the lab's own edit did not reach the run: %q", read(cluster.ReplicaStandby))
	}
	if read("hooks/after-12.primary.sql") != "select 1;\n" {
		t.Error("the lab's hook did not reach the run")
	}
}

func TestPrefixKeySharedUnlessEarlyStepsChange(t *testing.T) {
	lab := newLab(t)
	vs, _ := LoadVariants(lab)
	col := Column{PG: 15, Archiver: "cp"}
	key := map[string]string{}
	for _, v := range vs {
		key[v.Name] = prefixKey(lab, v, col, prefixSteps(playbook.Seed()))
	}
	for _, n := range BuiltinNames() {
		early := n == "scram-password" // its hook runs after step 4c
		if (key[n] == key["default"]) == early {
			t.Errorf("built-in %s: shares default's prefix %v, want %v", n, key[n] == key["default"], !early)
		}
	}
	if prefixKey(lab, vs[0], Column{PG: 15, Archiver: "wal-g"}, prefixSteps(playbook.Seed())) == key["default"] {
		t.Error("two columns share a prefix")
	}
	mk := func(name, file, content string) Variant {
		dir := lab.Path(VariantsDir, name)
		_ = os.MkdirAll(filepath.Dir(filepath.Join(dir, file)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		v, err := loadVariant(lab.Path(VariantsDir), name)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if prefixKey(lab, mk("walg-conf", cluster.WalgJSON, `{"WALG_COMPRESSION_METHOD": "brotli"}`), col, prefixSteps(playbook.Seed())) == key["default"] {
		t.Error("a variant with its own wal-g.json shares the default prefix")
	}
	if prefixKey(lab, mk("early-hook", "hooks/after-4c.primary.sql", "select 1;"), col, prefixSteps(playbook.Seed())) == key["default"] {
		t.Error("a variant with a hook inside the prefix shares the default prefix")
	}
}
