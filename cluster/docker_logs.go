package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	cerrdefs "github.com/containerd/errdefs"

	"walstep/untrusted"
)

// LogTail implements Backend: the log kept from removed containers
// followed by the current container's log, so it reads like one server log
// across restarts.
func (d *Docker) LogTail(ctx context.Context, node Node, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	saved, err := TailFile(d.savedLogPath(node), n)
	if err != nil {
		return nil, err
	}
	insp, err := d.inspectOwn(ctx, d.ContainerName(node))
	if err != nil {
		return saved, err
	}
	if insp == nil {
		return saved, nil
	}
	b, err := d.containerLogs(ctx, insp.ID, strconv.Itoa(n))
	if cerrdefs.IsNotFound(err) {
		// Removed between inspect and logs: its log is saved now.
		return TailFile(d.savedLogPath(node), n)
	}
	if err != nil {
		return saved, fmt.Errorf("read %s log: %w", node, d.explain(err))
	}
	cur := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(cur) == 1 && cur[0] == "" {
		cur = nil
	}
	untrusted.Lines(cur)
	lines := append(saved, cur...)
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}

// ControlData implements Backend: pg_controldata in the running container,
// else in a short-lived one. For a stopped server the output is cached
// while pg_control is unchanged, when the host can see that file.
func (d *Docker) ControlData(ctx context.Context, node Node) (string, error) {
	insp, err := d.inspectOwn(ctx, d.ContainerName(node))
	if err != nil {
		return "", err
	}
	argv := []string{"pg_controldata", containerData}
	var buf bytes.Buffer
	if insp != nil && insp.State != nil && insp.State.Running {
		err := d.execIn(ctx, insp.ID, "postgres", argv, &buf)
		if err != nil {
			return buf.String(), fmt.Errorf("run pg_controldata: %w: %s", err, strings.TrimSpace(buf.String()))
		}
		return buf.String(), nil
	}
	dd := d.DataDir(node)
	if _, err := os.Stat(dd); errors.Is(err, fs.ErrNotExist) {
		// Do not let a poll create the data dir (a mount would).
		return "", fmt.Errorf("run pg_controldata: %s does not exist", dd)
	}
	ctlStat, statErr := StatBelow(ctx, dd, "global/pg_control")
	if statErr == nil && ctlStat.Link != "" {
		return "", fmt.Errorf("run pg_controldata: %s/global/pg_control is a symbolic link: %w", dd, ErrNotPlain)
	}
	if statErr == nil {
		d.ctrlMu.Lock()
		c, ok := d.ctrlSeen[node]
		d.ctrlMu.Unlock()
		if ok && c.size == ctlStat.Size && c.mtime.Equal(ctlStat.ModTime) {
			return c.out, nil
		}
	} else if errors.Is(statErr, fs.ErrNotExist) {
		return "", fmt.Errorf("run pg_controldata: %s has no global/pg_control", dd)
	}
	text, ok := hostControlData(ctx, dd)
	if !ok {
		binds := []string{dd + ":" + containerData + ":ro"}
		err = d.runTask(ctx, task{image: d.image, node: node, user: "postgres", argv: argv, binds: binds, out: &buf, quiet: true})
		text = buf.String()
		if err != nil {
			return text, fmt.Errorf("run pg_controldata: %w: %s", err, strings.TrimSpace(text))
		}
	}
	if statErr == nil {
		d.ctrlMu.Lock()
		d.ctrlSeen[node] = ctrlCache{size: ctlStat.Size, mtime: ctlStat.ModTime, out: text}
		d.ctrlMu.Unlock()
	}
	return text, nil
}

// hostControlData runs the host's own pg_controldata of the data dir's
// major version on the mounted data dir, when the host has one and may
// read the dir: a read needs no container (one costs about a second). It
// runs as the data dir's owner, so it reads nothing that user could not.
func hostControlData(ctx context.Context, dataDir string) (string, bool) {
	v, err := ReadBelow(ctx, dataDir, "PG_VERSION", 64)
	if err != nil {
		return "", false
	}
	major := strings.TrimSpace(string(v))
	if major == "" || strings.ContainsAny(major, "/.") {
		return "", false
	}
	bin := filepath.Join("/usr/lib/postgresql", major, "bin", "pg_controldata")
	if _, err := os.Stat(bin); err != nil {
		return "", false
	}
	ctx, cancel := context.WithTimeout(ctx, controlDataTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-D", dataDir)
	cmd.Env = []string{"LANG=C", "LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: ownerCred(dataDir)}
	out, err := cmd.Output()
	if err != nil {
		return "", false
	}
	return string(out), true
}
