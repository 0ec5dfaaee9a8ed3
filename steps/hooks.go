package steps

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
	"sync"
	"time"

	"walstep/cluster"
	"walstep/untrusted"
)

// hookName is after-<step>.<node>.<sql|sh>, e.g. after-13.primary.sql;
// the node is one of the playbook's.
var hookName = regexp.MustCompile(`^after-([0-9A-Za-z]+)\.([a-z][a-z0-9]*)\.(sql|sh)$`)

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
				warnings = append(warnings, fmt.Sprintf("hooks/%s ignored: name hooks after-<step>.<node>.<sql|sh>", untrusted.Text(e.Name())))
			}
			continue
		}
		if t := lab.Topology(); !t.Has(cluster.Node(m[2])) {
			warnings = append(warnings, fmt.Sprintf("hooks/%s ignored: the playbook has no node %s (it has %s)", e.Name(), m[2], nodeList(t)))
			continue
		}
		if !known[m[1]] {
			warnings = append(warnings, fmt.Sprintf("hooks/%s ignored: there is no step %s", e.Name(), m[1]))
			continue
		}
		// A link out of the lab is refused here, before anything runs.
		if _, err := lab.ReadFile(cluster.HooksDir + "/" + e.Name()); err != nil {
			return nil, nil, err
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
	after := make([][]string, len(playbook))
	for i, s := range playbook {
		out = append(out, s)
		n := 0
		for _, h := range hooks {
			if h.After != s.ID {
				continue
			}
			n++
			out = append(out, hookStep(env, h, fmt.Sprintf("%s+%d", s.ID, n)))
			for j := 0; j <= i; j++ {
				after[j] = append(after[j], filepath.Base(h.Path))
			}
		}
	}
	later := map[string][]string{}
	for i, s := range playbook {
		if len(after[i]) > 0 {
			later[s.ID] = after[i]
		}
	}
	env.mu.Lock()
	env.laterHooks = later
	env.mu.Unlock()
	return out
}

// DefaultHookTimeout bounds a hook when --hook-timeout is not given: long
// enough for any deliberate hook, short enough that a hang ends.
const DefaultHookTimeout = 10 * time.Minute

// hookShownLines bounds the hook text shown as the step's command.
const hookShownLines = 20

func hookStep(env *Env, h Hook, id string) Step {
	name := filepath.Base(h.Path)
	// What Reload read is what Run runs, so the screen never shows one
	// text while another runs. The Runner calls Reload before it starts
	// Run's goroutine, which orders the two.
	var content []byte
	var readErr error
	fresh := false // Reload read the file for the run about to start
	file := cluster.HooksDir + "/" + name
	var ranMu sync.Mutex // Ran is asked from outside the Runner
	var ran []byte
	ranOK := false
	reload := func() string {
		content, readErr = env.Lab.ReadFile(file)
		fresh = true
		ranMu.Lock()
		ran, ranOK = content, readErr == nil
		ranMu.Unlock()
		return hookCommand(h, content, readErr)
	}
	b, err := env.Lab.ReadFile(cluster.HooksDir + "/" + name)
	return Step{
		ID: id, Seed: "hook", Parent: h.After, Hook: h.Path,
		Title:   fmt.Sprintf("Hook %s on %s", name, h.Node.The()),
		Command: hookCommand(h, b, err),
		Watch:   "what your hook changes; edit the file and retry to run it again",
		Hint:    "r retries it",
		Reload:  reload,
		Ran: func() (string, []byte, bool) {
			ranMu.Lock()
			defer ranMu.Unlock()
			return file, ran, ranOK
		},
		Run: func(ctx context.Context, out io.Writer) error {
			if !fresh {
				reload() // run without the Runner's Reload first
			}
			fresh = false
			if readErr != nil {
				return fmt.Errorf("read hook: %w", readErr)
			}
			to := env.Timeouts.Hook
			if to <= 0 {
				to = DefaultHookTimeout
			}
			hctx, cancel := context.WithTimeout(ctx, to)
			defer cancel()
			err := RunHook(hctx, env, h, string(content), out)
			if err != nil && ctx.Err() == nil && errors.Is(hctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("hook %s did not end within %s: stopped it (--hook-timeout sets the limit)", name, to)
			}
			return err
		},
	}
}

// hookCommand is a hook step's command as shown: how it runs, then the
// file's text as read (secrets masked, bounded), or why it could not be.
func hookCommand(h Hook, b []byte, err error) string {
	name := filepath.Base(h.Path)
	cmd := "psql -f hooks/" + name
	if h.Kind == "sh" {
		cmd = "sh hooks/" + name
	}
	if err != nil {
		return cmd + "\n(cannot read it: " + untrusted.Text(err.Error()) + ")"
	}
	lines := untrusted.Lines(strings.Split(untrusted.MaskSecrets(strings.TrimRight(string(b), "\n")), "\n"))
	if len(lines) > hookShownLines {
		lines = append(lines[:hookShownLines], fmt.Sprintf("… (%d more lines in hooks/%s)", len(lines)-hookShownLines, name))
	}
	return cmd + "\n" + strings.Join(lines, "\n")
}

// RunHook runs a hook's content on its node as postgres: SQL through
// psql -f with ON_ERROR_STOP, a shell script with sh, PGDATA set. The
// content goes into a file in the node's config dir (hidden, so
// include_dir skips it), not into the command line: a hook may be larger
// than an argument may be, and errors quote the command. The seed's
// password in it becomes the lab's secret, as in step 4c.
func RunHook(ctx context.Context, env *Env, h Hook, content string, out io.Writer) error {
	b := env.Backend
	name := filepath.Base(h.Path)
	content, note, err := labText(env, content, "runs hooks/"+name+" with")
	if err != nil {
		return fmt.Errorf("hook %s: %w", name, err)
	}
	if note != "" {
		fmt.Fprintln(out, note)
	}
	file := ".walstep-hook." + h.Kind
	f := cluster.ServerFile{Area: cluster.AreaConfig, Name: file, Mode: cluster.ReplaceFile, Data: []byte(content), Private: note != ""}
	if err := b.WriteFile(ctx, h.Node, f); err != nil {
		return fmt.Errorf("hook %s: %w", name, err)
	}
	p := b.Paths(h.Node)
	path := p.ConfigDir + "/" + file
	var argv []string
	switch h.Kind {
	case "sql":
		argv = []string{"psql", "-X", "-v", "ON_ERROR_STOP=1", "-f", path}
	default:
		argv = []string{"sh", "-c", `export PGDATA="$1"; exec sh "$2"`, "sh", p.Data, path}
	}
	if err := b.Exec(ctx, h.Node, "postgres", argv, out); err != nil {
		return fmt.Errorf("hook %s: %w", name, err)
	}
	return nil
}
