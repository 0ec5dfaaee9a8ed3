package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"walstep/cluster"
)

// dataDirPath is node's data dir in the lab.
func dataDirPath(env *Env, node cluster.Node) string {
	return env.Lab.Path(cluster.DataDirName(node))
}

// noteDataDir records, as step id begins, whether node's data dir is
// absent or empty: only then is what is in it after an unfinished run the
// step's own, for its Undo to remove. A dir that cannot be read counts as
// not made here.
func (e *Env) noteDataDir(ctx context.Context, id string, node cluster.Node) {
	ents, err := e.Backend.ReadDir(ctx, node, cluster.AreaData, "")
	made := errors.Is(err, fs.ErrNotExist) || err == nil && len(ents) == 0
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.madeDir == nil {
		e.madeDir = map[string]bool{}
	}
	e.madeDir[id+"\x00"+string(node)] = made
}

// removeDataDir undoes step id, which creates node's data dir (initdb, a
// backup fetch) and did not end: the half-made dir goes, through the lab
// guard, unless the step found it there already or a server runs on it.
// A dir that is gone or empty by now (the user removed what was in the
// way, as the refusal advises) leaves nothing to undo. back is the
// playbook's reset step, offered as the other way out ("" for none).
func removeDataDir(ctx context.Context, env *Env, id, back string, node cluster.Node, out io.Writer) error {
	p := dataDirPath(env, node)
	ents, err := env.Backend.ReadDir(ctx, node, cluster.AreaData, "")
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(out, "nothing to remove: %s is gone\n", p)
		return nil
	}
	if err == nil && len(ents) == 0 {
		fmt.Fprintf(out, "nothing to remove: %s is empty\n", p)
		return nil
	}
	orBack := ""
	if back != "" {
		orBack = " or go back to step " + back
	}
	env.mu.Lock()
	made := env.madeDir[id+"\x00"+string(node)]
	env.mu.Unlock()
	if !made {
		return fmt.Errorf("%s was there before step %s ran, so it is not this step's to remove: remove it yourself%s", p, id, orBack)
	}
	if st, err := env.Backend.State(ctx, node); err == nil && st.Running {
		if orBack != "" {
			orBack = "," + orBack
		}
		return fmt.Errorf("%s runs on its data dir (%s): stop it first%s", node.The(), st.Detail, orBack)
	}
	if err := env.Lab.Remove(env.remover(ctx), p); err != nil {
		return err
	}
	fmt.Fprintf(out, "removed %s\n", p)
	return nil
}
