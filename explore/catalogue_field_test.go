package explore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"walstep/cluster"
	"walstep/playbook"
)

// A lab whose playbook is a field playbook gets that playbook's variants,
// each carrying its built-in document as playbook.md; every built-in
// playbook named after a field playbook is one of its variants.
func TestFieldCatalogue(t *testing.T) {
	for base, vs := range fieldCatalogues {
		lab, err := cluster.InitLab(filepath.Join(t.TempDir(), "lab"))
		if err != nil {
			t.Fatal(err)
		}
		src, err := playbook.BuiltinSource(base)
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		if err := os.WriteFile(lab.Path(cluster.PlaybookFile), src, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := WriteCatalogue(lab); err != nil {
			t.Fatal(err)
		}
		all, err := LoadVariants(lab)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(vs) {
			t.Errorf("%s: %d variants written, the catalogue has %d", base, len(all), len(vs))
		}
		covered := map[string]bool{base: true}
		for _, v := range vs {
			covered[v.playbook] = true
			p := filepath.Join(lab.Path(VariantsDir), v.name, cluster.PlaybookFile)
			raw, err := os.ReadFile(p)
			if v.playbook == "" {
				if err == nil {
					t.Errorf("%s/%s carries a playbook.md: the default runs the lab's", base, v.name)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s/%s: %v", base, v.name, err)
				continue
			}
			d, err := playbook.Parse(p, raw)
			if err != nil || d.Name != v.playbook {
				t.Errorf("%s/%s: playbook.md %v, named %q, want %s", base, v.name, err, d.Name, v.playbook)
			}
		}
		for _, b := range playbook.Builtins() {
			if strings.HasPrefix(b.Name, base+"-") && !covered[b.Name] {
				t.Errorf("built-in %s is no variant of %s's catalogue", b.Name, base)
			}
		}
	}
}
