package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"walstep/cluster"
	"walstep/playbook"
)

// Playbook returns the seed's steps bound to env: its document, built
// into walstep (playbook.Seed).
func Playbook(env *Env) []Step { return Bind(env, playbook.Seed()) }

// Bind makes doc's steps runnable against env: each step runs its actions
// in order, through env's backend and archiver.
func Bind(env *Env, doc *playbook.Doc) []Step {
	return bindWith(&bound{env: env, doc: doc}, env, doc)
}

func bindWith(bd *bound, env *Env, doc *playbook.Doc) []Step {
	out := make([]Step, 0, len(doc.Steps))
	back := resetStep(doc)
	for _, ps := range doc.Steps {
		st := Step{
			ID: ps.ID, Seed: ps.Number, Parent: ps.Parent, Title: ps.Title,
			Command: ps.Command, CommandLabel: ps.Label, Watch: ps.Watch, Hint: ps.Hint, Resets: ps.Resets(),
			Reads: ps.Reads(), PresentStop: slices.Contains(doc.PresentStops, ps.ID), Breakpoint: slices.Contains(doc.Breakpoints, ps.ID),
		}
		for _, a := range ps.Actions {
			st.Actions = append(st.Actions, a.Display())
			if a.MakesDataDir() {
				st.Makes = append(st.Makes, Made{Node: cluster.Node(a.Node()), Fetch: a.Verb == "backup fetch"})
			}
		}
		id, acts := ps.ID, ps.Actions
		st.Run = func(ctx context.Context, w io.Writer) error { return bd.run(ctx, id, acts, w) }
		if len(st.Makes) > 0 {
			made := st.Makes
			st.Undo = func(ctx context.Context, w io.Writer) error {
				for _, m := range made {
					if err := removeDataDir(ctx, env, id, back, m.Node, w); err != nil {
						return err
					}
				}
				return nil
			}
		}
		out = append(out, st)
	}
	return out
}

// resetStep is the ID of the playbook's step that resets the lab (the one
// a pass starts again from), "" when it has none.
func resetStep(doc *playbook.Doc) string {
	for _, ps := range doc.Steps {
		if ps.Resets() {
			return ps.ID
		}
	}
	return ""
}

// passFrom says where a new pass starts: " (step ID)" for the playbook's
// reset step, "" when it has none.
func passFrom(doc *playbook.Doc) string {
	if id := resetStep(doc); id != "" {
		return " (step " + id + ")"
	}
	return ""
}

// Made is a data dir a step creates.
type Made struct {
	Node  cluster.Node
	Fetch bool // from a backup, not initdb
}

// bound is the state one binding's steps share while they run: what a
// step finds that a later one uses.
type bound struct {
	env *Env
	doc *playbook.Doc
}

func (bd *bound) deadline(a playbook.Action) time.Duration {
	if w := bd.env.Timeouts.Wait; w > 0 {
		return w
	}
	return a.Deadline
}

func isWait(a playbook.Action) bool { return strings.HasPrefix(a.Verb, "wait ") }

// run runs one step's actions. Waits written one after another wait
// together: the step goes on when all have ended, and fails as soon as
// one fails.
func (bd *bound) run(ctx context.Context, id string, acts []playbook.Action, out io.Writer) error {
	marks := map[cluster.Node]string{}
	for i, a := range acts {
		if len(a.Nodes) > 1 || isWait(a) && i+1 < len(acts) && isWait(acts[i+1]) {
			out = &syncWriter{w: out} // goroutines write to it
			break
		}
	}
	for i := 0; i < len(acts); {
		if !isWait(acts[i]) {
			if err := bd.do(ctx, id, acts[i], marks, out); err != nil {
				return err
			}
			i++
			continue
		}
		j := i
		for j < len(acts) && isWait(acts[j]) {
			j++
		}
		group := acts[i:j]
		if len(group) == 1 {
			if err := bd.wait(ctx, id, group[0], marks, out); err != nil {
				return err
			}
		} else {
			waits := make([]func(context.Context) error, len(group))
			names := make([]cluster.Node, len(group))
			for k, a := range group {
				waits[k] = func(ctx context.Context) error { return bd.wait(ctx, id, a, marks, out) }
				names[k] = cluster.Node(a.Node())
			}
			if err := waitTogether(ctx, waits, names, out); err != nil {
				return err
			}
		}
		i = j
	}
	return nil
}

// wait runs one wait action; marks are where the nodes' logs ended before
// this step started them (read only here: the waits of a group share it).
func (bd *bound) wait(ctx context.Context, id string, a playbook.Action, marks map[cluster.Node]string, out io.Writer) error {
	env, b := bd.env, bd.env.Backend
	node, d := cluster.Node(a.Node()), bd.deadline(a)
	mark := marks[node]
	switch a.Verb {
	case "wait ready":
		res, st, err := cluster.WaitReady(ctx, b, node, d)
		if err != nil {
			return fmt.Errorf("%w%s", err, lastLogHint(ctx, b, node))
		}
		if res == cluster.Exited {
			return fmt.Errorf("%s exited (%s) instead of accepting connections%s", node, st.Detail, lastLogHint(ctx, b, node))
		}
		fmt.Fprintf(out, "%s accepts connections\n", node)
		return nil
	case "wait promoted":
		return settlePrimary(ctx, env, node, out, mark, d, "", nil)
	case "wait end-of-recovery":
		return settlePrimary(ctx, env, node, out, mark, d, id, bd.laterPromotes(id, a.Node()))
	case "wait target-shutdown":
		return shutdownAtTarget(ctx, env, node, out, mark, d)
	case "wait stopped":
		_, err := cluster.WaitExited(ctx, b, node, d)
		return err
	case "wait streaming":
		return waitStreaming(ctx, env, node, cluster.Node(bd.doc.UpstreamAt(a.Line, a.Node())), out, mark, d)
	case "wait log":
		return waitLog(ctx, env, node, a.Args[0], out, mark, d)
	case "wait sql":
		q := bd.expand(node, a.Args[0], sqlLiteral)
		var last error
		err := cluster.Until(ctx, d, fmt.Sprintf("%q on %s to return true", q, node.The()), func(ctx context.Context) (bool, error) {
			var ok bool
			if last = cluster.QueryRow(ctx, b.ConnString(node), q, &ok); last != nil {
				return false, nil // not up yet: ask again, and say why at the deadline
			}
			return ok, nil
		})
		if err != nil && last != nil {
			return fmt.Errorf("%w (the query's last error: %v)", err, last)
		}
		if err != nil {
			return fmt.Errorf("%w%s", err, lastLogHint(ctx, b, node))
		}
		fmt.Fprintf(out, "%s: %s is true\n", node, q)
		return nil
	}
	return fmt.Errorf("playbook line %d: %s is not a wait", a.Line, a.Verb)
}

// do runs one action that is not a wait.
func (bd *bound) do(ctx context.Context, id string, a playbook.Action, marks map[cluster.Node]string, out io.Writer) error {
	env, b, lab, arc := bd.env, bd.env.Backend, bd.env.Lab, bd.env.Archiver
	node := cluster.Node(a.Node())
	x := func(s string, q func(string) string) string { return bd.expand(node, s, q) }
	switch a.Verb {
	case "reset lab":
		return resetLab(ctx, env, out)
	case "initdb":
		env.noteDataDir(ctx, id, node)
		return b.Init(ctx, node, out)
	case "append":
		lines := make([]string, len(a.Args))
		for i, l := range a.Args {
			lines[i] = x(l, ConfString)
		}
		return AppendLines(ctx, b, node, a.File, out, lines...)
	case "replace":
		return replaceLines(ctx, b, node, a.File, x(a.Args[0], ConfString), x(a.Args[1], ConfString), out)
	case "copy-conf":
		return CopyConf(ctx, env, node, a.File, out)
	case "signal":
		return Touch(ctx, b, node, a.Args[0]+".signal", out)
	case "remove":
		var p string
		var rm func(string) error
		if a.Area == "config" {
			p = lab.Path(cluster.ConfigDirName(node), a.File)
		} else {
			p, rm = filepath.Join(dataDirPath(env, node), a.File), env.remover(ctx)
		}
		if err := lab.Remove(rm, p); err != nil {
			return err
		}
		fmt.Fprintf(out, "removed %s\n", p)
		return nil
	case "remove-data-dir":
		p := dataDirPath(env, node)
		if err := lab.Remove(env.remover(ctx), p); err != nil {
			return err
		}
		fmt.Fprintf(out, "removed %s\n", p)
		return nil
	case "start":
		if len(a.Nodes) == 1 {
			mark, err := startOne(ctx, env, node, out)
			marks[node] = mark
			return err
		}
		nodes := make([]cluster.Node, len(a.Nodes))
		for i, n := range a.Nodes {
			nodes[i] = cluster.Node(n)
		}
		ms, err := startTogether(ctx, env, nodes, out)
		for i, n := range nodes {
			marks[n] = ms[i]
		}
		return err
	case "restart":
		mark, err := restart(ctx, env, node, out)
		marks[node] = mark
		return err
	case "stop":
		if a.Args[0] == "immediate" {
			return b.Exec(ctx, node, "postgres", []string{"pg_ctl", "stop", "-m", "immediate", "-D", b.Paths(node).Data}, out)
		}
		return b.Stop(ctx, node, out)
	case "kill":
		return kill(ctx, b, node, out)
	case "promote":
		return b.Exec(ctx, node, "postgres", []string{"pg_ctl", "promote", "-W", "-D", b.Paths(node).Data}, out)
	case "sql":
		for _, q := range a.Args {
			if err := labPSQL(ctx, env, node, x(q, sqlLiteral), out); err != nil {
				return err
			}
		}
		return nil
	case "shell":
		return b.Exec(ctx, node, a.User, []string{"sh", "-c", x(a.Args[0], cluster.ShellQuote)}, out)
	case "exec":
		argv := make([]string, len(a.Args))
		for i, w := range a.Args {
			argv[i] = x(w, nil)
		}
		return b.Exec(ctx, node, a.User, argv, out)
	case "backup push":
		if err := arc.BackupPush(ctx, b, node, out); err != nil {
			return err
		}
		if c := b.Paths(node).Config; !filepath.IsAbs(c) {
			// Backup tools skip this link (pg_basebackup warns): say why that is fine.
			fmt.Fprintf(out, "note: %s in the data dir is a link, not a directory: a backup leaves it out (a warning may say it skips this special file), and each server gets its own link to its config dir when walstep starts it, as the seed mounts /custom-pg-configs per container\n", c)
		}
		return nil
	case "backup find":
		names, err := arc.ListBackups(ctx, b, node, out)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			return errors.New("find backup: the storage holds no backup (did a backup push run?)")
		}
		env.setBackup(names[len(names)-1], node)
		fmt.Fprintf(out, "BACKUP_NAME=%s\n", names[len(names)-1])
		return nil
	case "backup fetch":
		env.noteDataDir(ctx, id, node)
		name, lister := env.foundBackup()
		if lister == "" {
			lister = bd.firstPrimary()
		}
		return fetchBackup(ctx, env, node, lister, name, out)
	case "slot create":
		return PSQL(ctx, b, node, "select pg_create_physical_replication_slot("+sqlLiteral(a.Args[0])+");", out)
	case "slot drop":
		return PSQL(ctx, b, node, "select pg_drop_replication_slot("+sqlLiteral(a.Args[0])+");", out)
	case "switch-wal":
		return PSQL(ctx, b, node, "select pg_switch_wal();", out)
	case "marker write":
		return writeMarker(ctx, env, id, node, out)
	case "marker check":
		// The playbook's deadline, not --wait's: it is how long a standby
		// that follows may take, and a diverged one is looked at for all
		// of it.
		return checkMarker(ctx, env, id, node, a.Deadline, out)
	case "archive-failures":
		reportArchiveFailures(ctx, b, node, out)
		return nil
	case "say":
		fmt.Fprintln(out, a.Args[0])
		return nil
	case "pg_rewind":
		return rewind(ctx, env, node, cluster.Node(a.Nodes[1]), out)
	case "repoint":
		return repoint(ctx, env, node, cluster.Node(a.Nodes[1]), out)
	case "hold archive":
		return holdArchive(ctx, env, node, out)
	case "release archive":
		return releaseArchive(ctx, env, node, out)
	}
	return fmt.Errorf("playbook line %d: walstep cannot run %s", a.Line, a.Verb)
}

// laterPromotes names the steps after id that promote node.
func (bd *bound) laterPromotes(id, node string) []string {
	var out []string
	after := false
	for _, st := range bd.doc.Steps {
		for _, a := range st.Actions {
			if after && a.Verb == "promote" && a.Node() == node {
				out = append(out, "step "+st.ID)
			}
		}
		after = after || st.ID == id
	}
	return out
}

// firstPrimary is the first node declared primary (where a backup is
// listed when no step found one).
func (bd *bound) firstPrimary() cluster.Node {
	for _, n := range bd.doc.Nodes {
		if n.Role == "primary" {
			return cluster.Node(n.Name)
		}
	}
	return bd.env.Lab.Topology().Primary()
}

// expand fills in ${…} for node, each value quoted by q (nil: as is);
// ${host:NODE} and ${port:NODE} are how the servers reach NODE.
func (bd *bound) expand(node cluster.Node, s string, q func(string) string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	p := bd.env.Backend.Paths(node)
	vals := map[string]string{
		"data": p.Data, "config_dir": p.Config, "storage": p.Storage, "owner": p.Owner,
		"archive_command": bd.env.Archiver.ArchiveCommand(p), "restore_command": bd.env.Archiver.RestoreCommand(p),
	}
	vals["backup"], _ = bd.env.foundBackup()
	for _, n := range bd.env.Lab.Topology().Nodes() {
		np := bd.env.Backend.Paths(n)
		vals["host:"+string(n)], vals["port:"+string(n)] = np.Host, np.Port
	}
	var pairs []string
	for k, v := range vals {
		if q != nil {
			v = q(v)
		}
		pairs = append(pairs, "${"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

func sqlLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// resetLab stops every server, removes what runs generated and makes the
// lab's dirs again, keeping its editable files.
func resetLab(ctx context.Context, env *Env, out io.Writer) error {
	b, lab, arc := env.Backend, env.Lab, env.Archiver
	env.clearProof() // a new pass: no marker written in it yet
	t := lab.Topology()
	for _, n := range lab.KnownStopOrder() {
		// A node an earlier playbook ran may still run on the dirs the
		// reset removes; one this playbook lacks is stopped only then.
		if !t.Has(n) {
			if st, err := b.State(ctx, n); err != nil || !st.Running {
				continue
			}
		}
		if err := b.Stop(ctx, n, out); err != nil {
			return fmt.Errorf("stop leftover %s: %w", n, err)
		}
	}
	if err := lab.Reset(env.remover(ctx)); err != nil {
		return err
	}
	fmt.Fprintf(out, "reset %s (kept the conf files, wal-g.json and hooks)\n", lab.Dir)
	var dirs []string
	for _, n := range lab.Topology().Nodes() {
		dirs = append(dirs, cluster.ConfigDirName(n))
	}
	for _, d := range append(dirs, cluster.LogsDir, cluster.RunDir) {
		if err := lab.MkdirAll(lab.Path(d), 0o755, -1, -1); err != nil {
			return err
		}
	}
	if err := arc.Prepare(lab, b); err != nil {
		return err
	}
	fmt.Fprintf(out, "backend %s, archiver %s\n", b.Name(), arc.Name())
	return nil
}

// replaceLines sets every line of name in node's data dir that starts
// with match to line, or appends line when none does.
func replaceLines(ctx context.Context, b cluster.Backend, node cluster.Node, name, match, line string, out io.Writer) error {
	raw, err := b.ReadFile(ctx, node, cluster.AreaData, name)
	if err != nil {
		return fmt.Errorf("replace in %s: %w", name, err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	n := 0
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), match) {
			lines[i] = line
			n++
		}
	}
	if n == 0 {
		lines = append(lines, line)
	}
	fmt.Fprintf(out, "$ edit %s/%s (%d lines starting %q)\n", b.Paths(node).Data, name, n, match)
	f := cluster.ServerFile{Area: cluster.AreaData, Name: name, Mode: cluster.ReplaceFile, Data: []byte(strings.Join(lines, "\n") + "\n")}
	if err := b.WriteFile(ctx, node, f); err != nil {
		return err
	}
	fmt.Fprintf(out, "+ %s\n", line)
	return nil
}

// BindFile is Bind for a playbook read from path, which the user may edit
// while walstep runs: as each step starts it reads the file again and
// runs the step's actions as they are now (the screen shows the step's
// command as read), or fails with the file's problem at file:line. Steps
// added or removed count from the next pass (see Runner.SetReplan).
func BindFile(env *Env, doc *playbook.Doc, path string) []Step {
	bd := &bound{env: env, doc: doc}
	all := bindWith(bd, env, doc)
	for i := range all {
		ps := doc.Steps[i]
		var acts []playbook.Action
		var readErr error
		var note string
		fresh := false
		reload := func() string {
			fresh, acts, readErr, note = true, ps.Actions, nil, ""
			d, err := playbook.ReadFile(path)
			if err != nil {
				readErr = err
				return ps.Command + "\n(" + err.Error() + ")"
			}
			j := d.Index(ps.ID)
			if j < 0 {
				readErr = fmt.Errorf("step %s is no longer in %s: it leaves the checklist at the next pass%s", ps.ID, path, passFrom(doc))
				return ps.Command
			}
			ns := d.Steps[j]
			if displays(ns.Actions) != displays(ps.Actions) {
				acts = ns.Actions
				note = fmt.Sprintf("%s changed since this pass began: this run runs\n  %s", filepath.Base(path), strings.ReplaceAll(displays(acts), "\n", "\n  "))
			}
			if ns.Command != ps.Command {
				return ns.Command
			}
			return ""
		}
		id := ps.ID
		all[i].Reload = reload
		all[i].Run = func(ctx context.Context, w io.Writer) error {
			if !fresh {
				reload() // run without the Runner's Reload first
			}
			fresh = false
			if readErr != nil {
				return readErr
			}
			if note != "" {
				fmt.Fprintln(w, note)
			}
			return bd.run(ctx, id, acts, w)
		}
	}
	return all
}

func displays(acts []playbook.Action) string {
	var b strings.Builder
	for i, a := range acts {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(a.Display())
	}
	return b.String()
}

// kill sends SIGKILL to node's postmaster from its own environment (on
// Docker the engine's init is the container's first process, so the
// signal reaches it). Killing the postmaster ends its container, which
// the exec then reports: a server no longer running is what was asked.
func kill(ctx context.Context, b cluster.Backend, node cluster.Node, out io.Writer) error {
	if st, err := b.State(ctx, node); err == nil && !st.Running {
		return fmt.Errorf("kill %s: it is not running (%s)", node, st.Detail)
	}
	err := b.Exec(ctx, node, "postgres", []string{"sh", "-c", `kill -KILL "$(head -n 1 "$1/postmaster.pid")"`, "sh", b.Paths(node).Data}, out)
	if err == nil {
		return nil
	}
	if st, serr := b.State(ctx, node); serr == nil && !st.Running && ctx.Err() == nil {
		fmt.Fprintf(out, "%s killed: %s\n", node, st.Detail)
		return nil
	}
	return err
}
