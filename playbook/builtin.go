package playbook

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

//go:embed builtin/*.md
var builtinFS embed.FS

// DefaultName is the built-in playbook a lab gets when none is chosen:
// the seed's reproduction.
const DefaultName = "seed"

// Builtin is one of the playbooks shipped in the binary.
type Builtin struct {
	Name  string
	Title string
	Steps int
}

// Builtins lists the built-in playbooks, by name.
func Builtins() []Builtin {
	ents, _ := fs.ReadDir(builtinFS, "builtin")
	var out []Builtin
	for _, e := range ents {
		name := strings.TrimSuffix(e.Name(), ".md")
		d, err := ParseBuiltin(name)
		if err != nil {
			continue // a broken built-in fails its own test
		}
		out = append(out, Builtin{Name: name, Title: d.Title, Steps: len(d.Steps)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// BuiltinSource is the text of the built-in playbook name.
func BuiltinSource(name string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, "/\\.") {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	b, err := builtinFS.ReadFile(path.Join("builtin", name+".md"))
	if err != nil {
		return nil, fmt.Errorf("%w: %q (walstep playbooks lists them)", ErrNotFound, name)
	}
	return b, nil
}

// ParseBuiltin parses the built-in playbook name.
func ParseBuiltin(name string) (*Doc, error) {
	b, err := BuiltinSource(name)
	if err != nil {
		return nil, err
	}
	return Parse(name+".md (built in)", b)
}

// Seed is the seed's playbook. It is built in and checked by its tests,
// so it always parses.
func Seed() *Doc {
	d, err := ParseBuiltin(DefaultName)
	if err != nil {
		panic(fmt.Sprintf("the built-in seed playbook: %v", err))
	}
	return d
}

// ReadFile reads and parses the playbook at path.
func ReadFile(path string) (*Doc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read playbook: %w", err)
	}
	return Parse(path, b)
}

// Source resolves NAME|FILE as --playbook takes it: a path to a file
// when one exists there (or the word has a slash or ends in .md), else a
// built-in name.
func Source(nameOrFile string) ([]byte, string, error) {
	if st, err := os.Stat(nameOrFile); err == nil && !st.IsDir() || strings.ContainsAny(nameOrFile, "/\\") || strings.HasSuffix(nameOrFile, ".md") {
		b, err := os.ReadFile(nameOrFile)
		if err != nil {
			return nil, "", fmt.Errorf("read playbook: %w", err)
		}
		return b, nameOrFile, nil
	}
	b, err := BuiltinSource(nameOrFile)
	return b, nameOrFile + ".md (built in)", err
}
