package steps

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"walstep/cluster"
)

// hookName is after-<step>.<node>.<sql|sh>, e.g. after-13.primary.sql.
var hookName = regexp.MustCompile(`^after-([0-9A-Za-z]+)\.(primary|replica)\.(sql|sh)$`)

// Hook is an extra step from the lab's hooks/ directory.
type Hook struct {
	After string       // the playbook step ID it follows
	Node  cluster.Node // where it runs
	Kind  string       // "sql" or "sh"
	Path  string       // host path of the file
}

// FindHooks lists the lab's hooks in run order (by step, then name). Files
// that do not follow the naming are returned as warnings, not errors, so a
// stray README in hooks/ does not stop a run.
func FindHooks(lab *cluster.Lab, playbook []Step) ([]Hook, []string, error) {
	dir := lab.Path(cluster.HooksDir)
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read hooks: %w", err)
	}
	known := map[string]bool{}
	for _, s := range playbook {
		known[s.ID] = true
	}
	var hooks []Hook
	var warnings []string
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		m := hookName.FindStringSubmatch(e.Name())
		if m == nil {
			if !strings.EqualFold(e.Name(), "README.md") {
				warnings = append(warnings, fmt.Sprintf("hooks/%s ignored: name hooks after-<step>.<primary|replica>.<sql|sh>", e.Name()))
			}
			continue
		}
		if !known[m[1]] {
			warnings = append(warnings, fmt.Sprintf("hooks/%s ignored: there is no step %s", e.Name(), m[1]))
			continue
		}
		hooks = append(hooks, Hook{After: m[1], Node: cluster.Node(m[2]), Kind: m[3], Path: filepath.Join(dir, e.Name())})
	}
	sort.SliceStable(hooks, func(i, j int) bool { return filepath.Base(hooks[i].Path) < filepath.Base(hooks[j].Path) })
	return hooks, warnings, nil
}

// WithHooks returns the playbook with each hook inserted after its step.
// Hook steps get IDs like "13+1" and the step they follow as Parent.
func WithHooks(env *Env, playbook []Step, hooks []Hook) []Step {
	out := make([]Step, 0, len(playbook)+len(hooks))
	for _, s := range playbook {
		out = append(out, s)
		n := 0
		for _, h := range hooks {
			if h.After != s.ID {
				continue
			}
			n++
			out = append(out, hookStep(env, h, fmt.Sprintf("%s+%d", s.ID, n)))
		}
	}
	return out
}

func hookStep(env *Env, h Hook, id string) Step {
	name := filepath.Base(h.Path)
	cmd := "psql -f hooks/" + name
	if h.Kind == "sh" {
		cmd = "sh hooks/" + name
	}
	if b, err := os.ReadFile(h.Path); err == nil {
		cmd += "\n" + strings.TrimRight(string(b), "\n")
	}
	return Step{
		ID: id, Seed: "hook", Parent: h.After, Hook: h.Path,
		Title:   fmt.Sprintf("Hook %s on the %s", name, h.Node),
		Command: cmd,
		Watch:   "what your hook changes; edit the file and retry to run it again",
		Hint:    "r retries it",
		Run: func(ctx context.Context, out io.Writer) error {
			// Read at run time so an edit followed by retry takes effect.
			b, err := os.ReadFile(h.Path)
			if err != nil {
				return fmt.Errorf("read hook: %w", err)
			}
			return RunHook(ctx, env.Backend, h, string(b), out)
		},
	}
}

// RunHook runs a hook's content on its node: SQL through psql with
// ON_ERROR_STOP, a shell script with sh as postgres, PGDATA set.
func RunHook(ctx context.Context, b cluster.Backend, h Hook, content string, out io.Writer) error {
	var argv []string
	switch h.Kind {
	case "sql":
		argv = []string{"sh", "-c", `printf '%s\n' "$1" | psql -X -v ON_ERROR_STOP=1 -f -`, "sh", content}
	default:
		argv = []string{"sh", "-c", "export PGDATA=\"$1\"; shift; " + content, "sh", b.Paths(h.Node).Data}
	}
	if err := b.Exec(ctx, h.Node, "postgres", argv, out); err != nil {
		return fmt.Errorf("hook %s: %w", filepath.Base(h.Path), err)
	}
	return nil
}
