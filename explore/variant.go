package explore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"walstep/cluster"
)

// VariantsDir is the lab directory holding one overlay per variant.
const VariantsDir = "variants"

// ReadmeFile is a variant's optional one-line description.
const ReadmeFile = "README"

// overlayFiles are the lab files a variant may replace.
var overlayFiles = []string{cluster.PrimaryRestore, cluster.ReplicaRestore, cluster.ReplicaStandby, cluster.WalgJSON, cluster.PlaybookFile}

// hookName is how hook files are named (steps.FindHooks checks the step).
var hookName = regexp.MustCompile(`^after-[0-9A-Za-z]+\.(primary|replica)\.(sql|sh)$`)

var variantName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Variant is one lab overlay.
type Variant struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Dir         string   `json:"-"`
	Files       []string `json:"files"` // relative to Dir: confs, wal-g.json, hooks/…
	err         error    // why the variant cannot run (files walstep does not know)
}

// LoadVariants reads every variant of the lab, sorted by name with default
// first. A variant holding files walstep does not know is kept with its
// error, which SelectVariants returns when it is picked.
func LoadVariants(lab *cluster.Lab) ([]Variant, error) {
	root := lab.Path(VariantsDir)
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("read variants: %w (walstep init writes the built-in ones)", err)
	}
	var out []Variant
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if !e.IsDir() {
			return nil, fmt.Errorf("%s/%s is not a directory: a variant is a directory variants/<name>/", VariantsDir, e.Name())
		}
		v, err := loadVariant(root, e.Name())
		v.err = err
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Name == "default") != (out[j].Name == "default") {
			return out[i].Name == "default"
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func loadVariant(root, name string) (Variant, error) {
	v := Variant{Name: name, Dir: filepath.Join(root, name)}
	if !variantName.MatchString(name) {
		return v, fmt.Errorf("variant %q: use letters, digits, '.', '_' and '-' in a variant's name", name)
	}
	known := map[string]bool{}
	for _, f := range overlayFiles {
		known[f] = true
	}
	var unknown []string
	ents, err := os.ReadDir(v.Dir)
	if err != nil {
		return v, fmt.Errorf("read variant %s: %w", name, err)
	}
	for _, e := range ents {
		n := e.Name()
		switch {
		case n == ReadmeFile:
			b, err := cluster.ReadBelow(context.Background(), v.Dir, n, 64<<10)
			if err != nil {
				return v, fmt.Errorf("read variant %s: %w", name, err)
			}
			v.Description = firstLine(string(b))
		case known[n] && e.Type().IsRegular():
			v.Files = append(v.Files, n)
		case n == cluster.HooksDir && e.IsDir():
			hooks, err := os.ReadDir(filepath.Join(v.Dir, n))
			if err != nil {
				return v, fmt.Errorf("read variant %s: %w", name, err)
			}
			for _, h := range hooks {
				if hookName.MatchString(h.Name()) && h.Type().IsRegular() {
					v.Files = append(v.Files, n+"/"+h.Name())
				} else {
					unknown = append(unknown, n+"/"+h.Name())
				}
			}
		default:
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return v, fmt.Errorf("variant %s holds files walstep does not know: %s (a variant holds %s, hooks/after-<step>.<primary|replica>.<sql|sh> and a README line)",
			name, strings.Join(unknown, ", "), strings.Join(overlayFiles, ", "))
	}
	sort.Strings(v.Files)
	return v, nil
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return ""
}

// SelectVariants picks the named variants in the given order, or all of
// them; an unknown name is one error naming the variants that exist, and a
// picked variant with files walstep does not know is refused with them.
func SelectVariants(all []Variant, names []string) ([]Variant, error) {
	if len(names) == 0 {
		for _, v := range all {
			if v.err != nil {
				return nil, v.err
			}
		}
		return all, nil
	}
	byName := map[string]Variant{}
	var have []string
	for _, v := range all {
		byName[v.Name] = v
		have = append(have, v.Name)
	}
	var out []Variant
	seen := map[string]bool{}
	for _, n := range names {
		v, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("unknown variant %q: the lab has %s (add one as variants/%s/)", n, strings.Join(have, ", "), n)
		}
		if v.err != nil {
			return nil, v.err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, v)
		}
	}
	return out, nil
}

// Apply writes a run's lab editable files: the base lab's, then the
// variant's over them. Hooks are overlaid file by file.
func (v Variant) Apply(base, dst *cluster.Lab) error {
	for _, f := range overlayFiles {
		if err := copyFile(base.Path(f), dst.Path(f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("copy lab file %s: %w", f, err)
		}
	}
	if err := os.MkdirAll(dst.Path(cluster.HooksDir), 0o755); err != nil {
		return fmt.Errorf("create hooks dir: %w", err)
	}
	if ents, err := os.ReadDir(base.Path(cluster.HooksDir)); err == nil {
		for _, e := range ents {
			if e.Type().IsRegular() && hookName.MatchString(e.Name()) {
				if err := copyFile(base.Path(cluster.HooksDir, e.Name()), dst.Path(cluster.HooksDir, e.Name())); err != nil {
					return fmt.Errorf("copy hook %s: %w", e.Name(), err)
				}
			}
		}
	}
	for _, f := range v.Files {
		if err := copyFile(filepath.Join(v.Dir, f), dst.Path(f)); err != nil {
			return fmt.Errorf("apply variant %s: %w", v.Name, err)
		}
	}
	return nil
}

// copyFile copies a regular file, refusing to read through a symlink and
// replacing (never writing through) whatever is at dst.
func copyFile(src, dst string) error {
	st, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	_ = os.Remove(dst)
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
