package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// WriteFile implements Backend. As root on the host, the file is written
// through the bind-mounted directory with no link followed (no container
// per edit) and handed to the image's postgres user. Otherwise the config
// dir and run/ are walstep's own user's on the host (no container's
// postgres can write there) and are written there, readable by all so the
// container can read them; the data dir is the container's postgres
// user's, so the edit runs in a container as postgres, where a link leads
// nowhere postgres could not write anyway.
func (d *Docker) WriteFile(ctx context.Context, node Node, f ServerFile) error {
	switch f.Area {
	case AreaConfig:
		if err := d.lab.MkdirAll(d.configDir(node), 0o755, -1, -1); err != nil {
			return err
		}
	case AreaRun:
		if err := d.lab.MkdirAll(d.lab.Path(RunDir), 0o755, -1, -1); err != nil {
			return err
		}
	}
	if hostIsRoot() {
		uid, gid := -1, -1 // an append keeps the file's owner
		if f.Mode != AppendFile {
			var err error
			if uid, gid, err = d.serverIDs(ctx, node); err != nil {
				return err
			}
		}
		return writeNoFollow(d.lab.Dir, areaDir(node, f.Area), f, uid, gid)
	}
	if f.Area == AreaConfig && f.Private {
		return d.writePrivateConfig(ctx, node, f)
	}
	if f.Area != AreaData {
		f.Perm = 0o644
		return writeNoFollow(d.lab.Dir, areaDir(node, f.Area), f, -1, -1)
	}
	dir, user := containerData, "postgres"
	var script string
	switch f.Mode {
	case AppendFile:
		script = `printf '%s' "$2" >> "$1"`
	case CreateFile:
		script = `touch "$1"`
	default:
		script = `umask 077; t="$1.walstep-tmp"; printf '%s' "$2" > "$t" && mv -f "$t" "$1"`
	}
	target := dir + "/" + f.Name
	var buf bytes.Buffer
	if err := d.Exec(ctx, node, user, []string{"sh", "-c", script, "sh", target, string(f.Data)}, &buf); err != nil {
		return fmt.Errorf("%s %s: %w: %s", f.verb(), target, err, lastLines(buf.String(), 3))
	}
	return nil
}

// writePrivateConfig writes a config file holding the lab's secret without
// root on the host: written 0600 under a temporary name in run/ (walstep's
// own, so no other user can read it or swap it), then handed to the image's
// postgres user and renamed into place by a root container, since the
// server must read it and no one else may. The container mounts the whole
// lab, so the rename stays on one mount; the config dir may be the server
// user's to write (a hook as root can chown it), so nothing the root
// container does names a path in it but the target, which rename replaces
// (mv -T: a link there is replaced, never followed into a directory).
func (d *Docker) writePrivateConfig(ctx context.Context, node Node, f ServerFile) error {
	if err := d.lab.MkdirAll(d.lab.Path(RunDir), 0o755, -1, -1); err != nil {
		return err
	}
	tmp := ServerFile{Area: AreaRun, Name: ".walstep-" + randHex(6) + "-" + f.Name, Mode: ReplaceFile, Data: f.Data}
	if err := writeNoFollow(d.lab.Dir, RunDir, tmp, -1, -1); err != nil {
		return err
	}
	const lab = "/walstep-lab"
	var buf bytes.Buffer
	err := d.runTask(ctx, task{image: d.image, node: node, user: "root",
		argv: []string{"sh", "-c", `chown postgres:postgres "$1" && chmod 600 "$1" && mv -fT "$1" "$2"`, "sh",
			lab + "/" + RunDir + "/" + tmp.Name, lab + "/" + areaDir(node, f.Area) + "/" + f.Name},
		binds: []string{d.lab.Dir + ":" + lab}, out: &buf, quiet: true})
	if err != nil {
		_ = os.Remove(d.lab.Path(RunDir, tmp.Name))
		return fmt.Errorf("%s %s: hand it to the server user: %w: %s", f.verb(), f.Name, err, lastLines(buf.String(), 3))
	}
	return nil
}

// serverIDs are the uid and gid of the image's postgres user: the owner
// of the node's data dir once initdb or a restore made it (no container to
// ask), else looked up in the image.
func (d *Docker) serverIDs(ctx context.Context, node Node) (int, int, error) {
	if st, err := os.Stat(d.DataDir(node)); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid != 0 {
			return int(sys.Uid), int(sys.Gid), nil
		}
	}
	return d.postgresIDs(ctx)
}

// hostIsRoot reports whether walstep runs as root on the host; a variable
// so tests can take the other path.
var hostIsRoot = func() bool { return os.Geteuid() == 0 }

// lastLines is the last n non-empty lines of s, joined by " / ".
func lastLines(s string, n int) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "$ ") {
			keep = append(keep, l)
		}
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, " / ")
}

// DockerUsedFile in a lab says its data dirs were mounted into containers
// (of the engine it names), so that `walstep clean` with the engine gone
// keeps the data dirs those containers may still be using.
const DockerUsedFile = ".walstep-docker"

// noteContainers records, once, that this lab's dirs go into containers.
func (d *Docker) noteContainers() {
	d.usedOnce.Do(func() {
		p := d.lab.Path(DockerUsedFile)
		if _, err := os.Lstat(p); err == nil {
			return
		}
		_ = os.WriteFile(p, []byte(d.cli.DaemonHost()+"\n"), 0o644)
	})
}
