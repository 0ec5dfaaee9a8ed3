package steps

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"walstep/cluster"
)

// AppendLines appends lines to name in node's data dir, as the seed's
// sudo sh -c "echo … >> …" does, through the backend so that no link the
// server user planted is followed.
func AppendLines(ctx context.Context, b cluster.Backend, node cluster.Node, name string, out io.Writer, lines ...string) error {
	data := strings.Join(lines, "\n") + "\n"
	fmt.Fprintf(out, "$ cat >> %s/%s\n", b.Paths(node).Data, name)
	if err := b.WriteFile(ctx, node, cluster.ServerFile{Area: cluster.AreaData, Name: name, Mode: cluster.AppendFile, Data: []byte(data)}); err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintf(out, "+ %s\n", l)
	}
	return nil
}

// ConfString is v as a postgresql.conf string value: single-quoted, with
// quotes doubled and backslashes escaped, as PostgreSQL's config parser
// reads them (a quoted lab path in archive_command holds quotes).
func ConfString(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", "''").Replace(v) + "'"
}

// Touch creates an empty file in node's data dir, owned by the server user
// so the server can remove it when recovery ends.
func Touch(ctx context.Context, b cluster.Backend, node cluster.Node, name string, out io.Writer) error {
	fmt.Fprintf(out, "$ touch %s/%s\n", b.Paths(node).Data, name)
	return b.WriteFile(ctx, node, cluster.ServerFile{Area: cluster.AreaData, Name: name, Mode: cluster.CreateFile})
}

// CopyConf copies an editable lab conf file into node's config dir,
// filling in its placeholders for the backend in use (see confValues)
// and the lab's secret for the seed's password. The copy is the server
// user's and readable by it alone: a conf may hold a password.
func CopyConf(ctx context.Context, env *Env, node cluster.Node, name string, out io.Writer) error {
	raw, err := env.Lab.ReadFile(name)
	if err != nil {
		return err
	}
	vals := confValues(env, node)
	var unknown []string
	text := fillOutsideComments(string(raw), func(s string) string {
		return confPlaceholder.ReplaceAllStringFunc(s, func(m string) string {
			if v, ok := vals[m]; ok {
				return v
			}
			unknown = append(unknown, m)
			return m
		})
	})
	if len(unknown) > 0 {
		return fmt.Errorf("copy %s: %s names a node this playbook does not declare (it has %s)", name, unknown[0], nodeList(env.Lab.Topology()))
	}
	copied, note, err := labText(env, text, "the copy holds")
	if err != nil {
		return err
	}
	f := cluster.ServerFile{Area: cluster.AreaConfig, Name: name, Mode: cluster.ReplaceFile, Data: []byte(copied), Private: note != ""}
	if err := env.Backend.WriteFile(ctx, node, f); err != nil {
		return err
	}
	fmt.Fprintf(out, "copied %s to %s/\n", name, cluster.ConfigDirName(node))
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			fmt.Fprintf(out, "  %s\n", t)
		}
	}
	if note != "" {
		fmt.Fprintln(out, note)
	}
	return nil
}

// fillOutsideComments fills placeholders in a conf's settings only: a
// comment that names ${PRIMARY_HOST} says what walstep does, and filled in
// it would read "127.0.0.1 and 34915 are filled in by walstep". A # inside
// a quoted value does not start a comment.
func fillOutsideComments(text string, fill func(string) string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		quoted, cut := false, len(l)
		for j := 0; j < len(l); j++ {
			switch {
			case l[j] == '\'':
				quoted = !quoted
			case l[j] == '#' && !quoted:
				cut = j
			}
			if cut < len(l) {
				break
			}
		}
		lines[i] = fill(l[:cut]) + l[cut:]
	}
	return strings.Join(lines, "\n")
}

// confPlaceholder is what a lab conf may name: ${PRIMARY_HOST} and
// ${PRIMARY_PORT}, the upstream of the node it is copied for, and
// ${host:NODE} and ${port:NODE}, any node's.
var confPlaceholder = regexp.MustCompile(`\$\{(PRIMARY_HOST|PRIMARY_PORT|host:[^}]*|port:[^}]*)\}`)

// confValues are the placeholders' values for a copy into node's config
// dir. ${PRIMARY_HOST} names the node it follows, or the first primary
// for a node that follows none (the seed's primary_restore.conf).
func confValues(env *Env, node cluster.Node) map[string]string {
	t := env.Lab.Topology()
	up := t.Upstream(node)
	if up == "" {
		up = t.Primary()
	}
	p := env.Backend.Paths(up)
	vals := map[string]string{"${PRIMARY_HOST}": p.Host, "${PRIMARY_PORT}": p.Port}
	for _, n := range t.Nodes() {
		np := env.Backend.Paths(n)
		vals["${host:"+string(n)+"}"], vals["${port:"+string(n)+"}"] = np.Host, np.Port
	}
	return vals
}

// nodeList is the topology's node names, for messages.
func nodeList(t cluster.Topology) string {
	names := make([]string, len(t))
	for i, n := range t.Nodes() {
		names[i] = string(n)
	}
	return strings.Join(names, ", ")
}
