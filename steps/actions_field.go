package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"walstep/cluster"
)

// HeldDir is the directory of the archive's root where a node's held
// pushes wait, one subdirectory per node: beside the archive's own
// directories, so neither the servers' restore_command nor WAL-G reads it.
const HeldDir = "walstep-held"

// ownConfs are the files pg_rewind copies from its source that hold a
// server's own settings.
var ownConfs = []string{"postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"}

// peerAddr is how the lab's servers reach node.
func peerAddr(b cluster.Backend, node cluster.Node) (string, string, error) {
	p := b.Paths(node)
	if p.Host == "" || p.Port == "" {
		return "", "", fmt.Errorf("the %s backend cannot say how its servers reach %s", b.Name(), node)
	}
	return p.Host, p.Port, nil
}

// rewind runs pg_rewind on target (stopped) from source (running), as the
// server user in target's environment, its output shown as it comes. The
// source's connection takes the lab's secret from a passfile only the
// server user reads, never from the command line. pg_rewind copies the
// source's postgresql.conf and the other conf files: target's own are put
// back after it, so it keeps its own settings.
func rewind(ctx context.Context, env *Env, target, source cluster.Node, out io.Writer) error {
	b := env.Backend
	if st, err := b.State(ctx, target); err == nil && st.Running {
		return fmt.Errorf("pg_rewind %s: it is running (%s): stop it first, pg_rewind rewinds a server that is shut down", target, st.Detail)
	}
	host, port, err := peerAddr(b, source)
	if err != nil {
		return fmt.Errorf("pg_rewind %s from %s: %w", target, source, err)
	}
	own := map[string][]byte{}
	for _, name := range ownConfs {
		if raw, err := b.ReadFile(ctx, target, cluster.AreaData, name); err == nil {
			own[name] = raw
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("pg_rewind %s: keep its own %s: %w", target, name, err)
		}
	}
	secret, err := env.Lab.Secret()
	if err != nil {
		return err
	}
	p := b.Paths(target)
	pass := cluster.ServerFile{Area: cluster.AreaConfig, Name: ".walstep-pgpass", Mode: cluster.ReplaceFile, Data: []byte("*:*:*:postgres:" + secret + "\n"), Private: true}
	if err := b.WriteFile(ctx, target, pass); err != nil {
		return fmt.Errorf("pg_rewind %s: write its passfile: %w", target, err)
	}
	defer func() {
		pass.Data = []byte("# emptied by walstep once pg_rewind had run\n")
		_ = b.WriteFile(context.WithoutCancel(ctx), target, pass)
	}()
	conn := fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres passfile=%s", host, port, path.Join(p.ConfigDir, pass.Name))
	// A config dir that is a link in the data dir (the local backend's
	// stand-in for a mount) is not pg_rewind's to follow: it would find the
	// source's as a directory and refuse the target's link. The link goes
	// before, the copy of the source's config dir after; the node's own
	// link is made again when it starts.
	link := ""
	if !filepath.IsAbs(p.Config) {
		link = p.Config
	}
	const script = `cd "$1" || exit 1
link=$2; shift 2
[ -z "$link" ] || [ ! -L "$link" ] || rm -f -- "$link"
pg_rewind "$@"
rc=$?
[ -z "$link" ] || [ -L "$link" ] || rm -rf -- "$link"
exit $rc`
	argv := []string{"sh", "-c", script, "sh", p.Data, link, "--target-pgdata=" + p.Data, "--source-server=" + conn}
	runErr := b.Exec(ctx, target, "postgres", argv, out)
	if err := putBackConfs(ctx, b, target, source, own, out); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return fmt.Errorf("pg_rewind %s from %s: %w%s", target, source, runErr, rewindHint(ctx, b, target))
	}
	return nil
}

// putBackConfs writes target's own conf files again where pg_rewind put
// the source's, and says which differed.
func putBackConfs(ctx context.Context, b cluster.Backend, target, source cluster.Node, own map[string][]byte, out io.Writer) error {
	var differed, same []string
	for _, name := range ownConfs {
		raw, ok := own[name]
		if !ok {
			continue
		}
		now, err := b.ReadFile(ctx, target, cluster.AreaData, name)
		if err == nil && bytes.Equal(now, raw) {
			same = append(same, name)
			continue
		}
		f := cluster.ServerFile{Area: cluster.AreaData, Name: name, Mode: cluster.ReplaceFile, Data: raw, Private: true}
		if err := b.WriteFile(ctx, target, f); err != nil {
			return fmt.Errorf("put back %s's own %s: %w", target.The(), name, err)
		}
		differed = append(differed, name)
	}
	if len(differed) > 0 {
		fmt.Fprintf(out, "walstep: put back %s's own %s (pg_rewind had copied %s's)\n", target, strings.Join(differed, ", "), source)
	}
	if len(same) > 0 {
		fmt.Fprintf(out, "walstep: %s's %s unchanged\n", target, strings.Join(same, ", "))
	}
	return nil
}

// rewindHint names what a refused rewind needs, when pg_rewind said it.
func rewindHint(ctx context.Context, b cluster.Backend, target cluster.Node) string {
	cd, err := b.ControlData(ctx, target)
	if err != nil {
		return ""
	}
	if strings.Contains(cd, "wal_log_hints setting:                off") && strings.Contains(cd, "Data page checksum version:           0") {
		return " (the target has neither wal_log_hints = on nor data checksums: pg_rewind cannot tell which pages changed)"
	}
	return ""
}

// repoint makes node a standby streaming from up: primary_conninfo names
// up's address, with the lab's secret and node's name as
// application_name, and no slot (a slot is per upstream); standby.signal
// is created. Written to postgresql.auto.conf, which PostgreSQL reads
// last, so it wins over what postgresql.conf and the config dir say. A
// running standby reloads and reconnects; a primary becomes a standby at
// its next start.
func repoint(ctx context.Context, env *Env, node, up cluster.Node, out io.Writer) error {
	b := env.Backend
	host, port, err := peerAddr(b, up)
	if err != nil {
		return fmt.Errorf("repoint %s to %s: %w", node, up, err)
	}
	secret, err := env.Lab.Secret()
	if err != nil {
		return err
	}
	conn := fmt.Sprintf("host=%s port=%s user=postgres password=%s application_name=%s", host, port, secret, node)
	if err := setAutoConf(ctx, b, node, out, [][2]string{{"primary_conninfo", ConfString(conn)}, {"primary_slot_name", "''"}}); err != nil {
		return fmt.Errorf("repoint %s to %s: %w", node, up, err)
	}
	if err := Touch(ctx, b, node, "standby.signal", out); err != nil {
		return fmt.Errorf("repoint %s to %s: %w", node, up, err)
	}
	return reloadIfRunning(ctx, env, node, out, fmt.Sprintf("a standby streams from %s once it reads them; a primary at its next start", up))
}

// setAutoConf sets each key in node's postgresql.auto.conf, replacing the
// lines that set it.
func setAutoConf(ctx context.Context, b cluster.Backend, node cluster.Node, out io.Writer, kv [][2]string) error {
	raw, err := b.ReadFile(ctx, node, cluster.AreaData, "postgresql.auto.conf")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read postgresql.auto.conf: %w", err)
	}
	keys := map[string]bool{}
	for _, p := range kv {
		keys[p[0]] = true
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		if l != "" && !keys[confKey(l)] {
			lines = append(lines, l)
		}
	}
	fmt.Fprintf(out, "$ edit %s/postgresql.auto.conf\n", b.Paths(node).Data)
	for _, p := range kv {
		line := p[0] + " = " + p[1]
		lines = append(lines, line)
		fmt.Fprintf(out, "+ %s\n", line)
	}
	f := cluster.ServerFile{Area: cluster.AreaData, Name: "postgresql.auto.conf", Mode: cluster.ReplaceFile, Data: []byte(strings.Join(lines, "\n") + "\n"), Private: true}
	return b.WriteFile(ctx, node, f)
}

// unsetAutoConf removes the lines of node's postgresql.auto.conf that
// set key to a value for which match is true; it reports how many.
func unsetAutoConf(ctx context.Context, b cluster.Backend, node cluster.Node, key string, match func(string) bool, out io.Writer) (int, error) {
	raw, err := b.ReadFile(ctx, node, cluster.AreaData, "postgresql.auto.conf")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read postgresql.auto.conf: %w", err)
	}
	var keep []string
	n := 0
	for _, l := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		if confKey(l) == key && match(l) {
			n++
			fmt.Fprintf(out, "- %s\n", l)
			continue
		}
		keep = append(keep, l)
	}
	if n == 0 {
		return 0, nil
	}
	f := cluster.ServerFile{Area: cluster.AreaData, Name: "postgresql.auto.conf", Mode: cluster.ReplaceFile, Data: []byte(strings.Join(keep, "\n") + "\n"), Private: true}
	return n, b.WriteFile(ctx, node, f)
}

// confKey is the setting a conf line sets, "" for none.
func confKey(line string) string {
	l := strings.TrimSpace(line)
	if l == "" || l[0] == '#' {
		return ""
	}
	k, _, ok := strings.Cut(l, "=")
	if !ok {
		k, _, _ = strings.Cut(l, " ")
	}
	return strings.ToLower(strings.TrimSpace(k))
}

// reloadIfRunning makes a running node read its configuration again and
// waits until a new session sees it read; a stopped one reads it when it
// starts.
func reloadIfRunning(ctx context.Context, env *Env, node cluster.Node, out io.Writer, what string) error {
	b := env.Backend
	st, err := b.State(ctx, node)
	if err != nil || !st.Running {
		fmt.Fprintf(out, "%s is not running: it reads the new settings when it starts (%s)\n", node, what)
		return nil
	}
	var before time.Time
	asked := cluster.QueryRow(ctx, b.ConnString(node), "select pg_conf_load_time()", &before) == nil
	if err := b.Exec(ctx, node, "postgres", []string{"pg_ctl", "reload", "-D", b.Paths(node).Data}, out); err != nil {
		return err
	}
	if !asked {
		// Not accepting connections (still starting, or refused by its
		// upstream): the signal is sent, and nothing can say when it read it.
		fmt.Fprintf(out, "%s was sent the reload but does not accept connections, so when it read it cannot be seen (%s)\n", node, what)
		return nil
	}
	err = cluster.Until(ctx, 10*time.Second, "the "+string(node)+" to reload its configuration", func(ctx context.Context) (bool, error) {
		var at time.Time
		if err := cluster.QueryRow(ctx, b.ConnString(node), "select pg_conf_load_time()", &at); err != nil {
			return false, nil
		}
		return at.After(before), nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s reloaded its configuration (%s)\n", node, what)
	return nil
}

// heldDir is where node's held pushes wait, as the server sees it, and
// relative to the archive's root.
func heldDir(b cluster.Backend, node cluster.Node) (server, rel string) {
	rel = HeldDir + "/" + string(node)
	return b.Paths(node).Storage + "/" + rel, rel
}

// holdCommand is the archive_command that holds node's pushes back.
func holdCommand(dir string) string {
	q := strings.ReplaceAll(cluster.ShellQuote(dir), "%", "%%")
	return fmt.Sprintf("cp %%p %s/%%f", q)
}

// holdArchive makes node's archive_command copy into its held directory
// instead of the archive, until release archive: what it archives then
// reaches the archive only when released.
func holdArchive(ctx context.Context, env *Env, node cluster.Node, out io.Writer) error {
	b := env.Backend
	dir, rel := heldDir(b, node)
	// archive_status/ beside the held files: WAL-G's wal-push looks there
	// for more files to push at once, and says so loudly when it is missing.
	// Made as the server user, not root and chowned: the archive is the
	// server's to write, so a link it planted there leads nowhere it could
	// not already write.
	if err := b.Exec(ctx, node, "postgres", []string{"mkdir", "-p", "--", dir + "/archive_status"}, out); err != nil {
		return fmt.Errorf("hold archive %s: %w", node, err)
	}
	if err := setAutoConf(ctx, b, node, out, [][2]string{{"archive_command", ConfString(holdCommand(dir))}}); err != nil {
		return fmt.Errorf("hold archive %s: %w", node, err)
	}
	fmt.Fprintf(out, "%s's pushes are held back in %s of the archive's root until release archive %s\n", node, rel, node)
	return reloadIfRunning(ctx, env, node, out, "its archive_command holds its pushes back")
}

// releaseArchive pushes what node's hold kept, oldest first, through the
// archiver's own archive_command, then gives node its own archive_command
// back (the one postgresql.conf sets) and pushes what arrived meanwhile.
// A file the archive already holds (another node archived that name) is
// left to the archive_command: cp's test ! -f refuses it, as WAL-G does
// when the contents differ, and it stays held; the output says so.
func releaseArchive(ctx context.Context, env *Env, node cluster.Node, out io.Writer) error {
	b := env.Backend
	dir, _ := heldDir(b, node)
	pushed, kept, err := pushHeld(ctx, env, node, out)
	if err != nil {
		return err
	}
	n, err := unsetAutoConf(ctx, b, node, "archive_command", func(l string) bool { return strings.Contains(l, HeldDir) }, out)
	if err != nil {
		return fmt.Errorf("release archive %s: %w", node, err)
	}
	if n == 0 {
		fmt.Fprintf(out, "%s's archive was not held (no hold archive %s before)\n", node, node)
	}
	if err := reloadIfRunning(ctx, env, node, out, "its own archive_command again"); err != nil {
		return err
	}
	p2, k2, err := pushHeld(ctx, env, node, out)
	if err != nil {
		return err
	}
	pushed, kept = pushed+p2, k2
	fmt.Fprintf(out, "released %s's archive: %d pushed", node, pushed)
	if kept > 0 {
		fmt.Fprintf(out, ", %d kept in %s (the archive holds those names already)", kept, dir)
	}
	fmt.Fprintln(out)
	return nil
}

// pushHeld pushes each file of node's hold, oldest first, and removes
// those pushed.
func pushHeld(ctx context.Context, env *Env, node cluster.Node, out io.Writer) (pushed, kept int, err error) {
	b := env.Backend
	dir, rel := heldDir(b, node)
	held, err := b.ReadDir(ctx, node, cluster.AreaStorage, rel)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("release archive %s: list %s: %w", node, rel, err)
	}
	sort.SliceStable(held, func(i, j int) bool { return held[i].ModTime.Before(held[j].ModTime) })
	archived := map[string]bool{}
	if ents, err := b.ReadDir(ctx, node, cluster.AreaStorage, cluster.WALDir); err == nil {
		for _, e := range ents {
			archived[e.Name] = true
			// WAL-G stores a file under its name and its compression's suffix.
			if base, ext, ok := cutLast(e.Name, "."); ok && compressed[ext] {
				archived[base] = true
			}
		}
	}
	command := env.Archiver.ArchiveCommand(b.Paths(node))
	for _, f := range held {
		if f.Dir || f.Link != "" {
			continue
		}
		script := fillArchiveCommand(command, dir+"/"+f.Name, f.Name) + ` && rm -f -- ` + cluster.ShellQuote(dir+"/"+f.Name)
		perr := b.Exec(ctx, node, "postgres", []string{"sh", "-c", script}, out)
		switch {
		case perr == nil:
			pushed++
			fmt.Fprintf(out, "pushed %s\n", f.Name)
		case archived[f.Name] && ctx.Err() == nil:
			kept++
			fmt.Fprintf(out, "not pushed: %s (the archive holds %s already, from another server; its archive_command refused it)\n", f.Name, f.Name)
		default:
			return pushed, kept, fmt.Errorf("release archive %s: push %s: %w", node, f.Name, perr)
		}
	}
	return pushed, kept, nil
}

// fillArchiveCommand is an archive_command as PostgreSQL runs it for one
// file: %p its path, %f its name, %% a percent sign.
func fillArchiveCommand(cmd, p, f string) string {
	var s strings.Builder
	for i := 0; i < len(cmd); i++ {
		if cmd[i] != '%' || i+1 == len(cmd) {
			s.WriteByte(cmd[i])
			continue
		}
		i++
		switch cmd[i] {
		case 'p':
			s.WriteString(cluster.ShellQuote(p))
		case 'f':
			s.WriteString(cluster.ShellQuote(f))
		case '%':
			s.WriteByte('%')
		default:
			s.WriteByte('%')
			s.WriteByte(cmd[i])
		}
	}
	return s.String()
}

// compressed are the suffixes WAL-G's compression methods add.
var compressed = map[string]bool{"lz4": true, "br": true, "zst": true, "lzma": true, "gz": true}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
