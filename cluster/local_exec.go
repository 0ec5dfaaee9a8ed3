package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// Exec implements Backend. "root" runs as walstep's own user (only root
// can be root here); "postgres" runs as the server user.
func (l *Local) Exec(ctx context.Context, node Node, usr string, argv []string, out io.Writer) error {
	if len(argv) == 0 {
		return errors.New("exec: empty command")
	}
	if err := l.prepareDirs(l.homeDir); err != nil {
		return err
	}
	fmt.Fprintf(out, "$ %s\n", shellJoin(argv))
	cmd := l.command(ctx, node, usr != "root", argv, out)
	sock, err := l.socketDirFile()
	if err != nil {
		return err
	}
	if sock != nil {
		defer sock.Close()
		cmd.ExtraFiles = []*os.File{sock} // fd 3, PGHOST=/proc/self/fd/3
	}
	if err := l.runCmd(ctx, cmd); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("run %s: %w", argv[0], ctx.Err())
		}
		return fmt.Errorf("run %s: %w", argv[0], err)
	}
	return nil
}

func shellJoin(argv []string) string {
	var parts []string
	for _, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$&|;<>()*?") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// WriteFile implements Backend on the host; files walstep creates as root
// are handed to the server user.
func (l *Local) WriteFile(_ context.Context, node Node, f ServerFile) error {
	uid, gid := -1, -1
	if l.runAs != nil {
		uid, gid = int(l.runAs.Uid), int(l.runAs.Gid)
	}
	switch f.Area {
	case AreaConfig:
		if err := l.prepareDirs(l.ConfigDir(node)); err != nil {
			return err
		}
	case AreaRun:
		if err := l.lab.MkdirAll(l.lab.Path(RunDir), 0o755, -1, -1); err != nil {
			return err
		}
	}
	return writeNoFollow(l.lab.Dir, areaDir(node, f.Area), f, uid, gid)
}

// LogTail implements Backend.
func (l *Local) LogTail(_ context.Context, node Node, n int) ([]string, error) {
	return TailFile(l.LogPath(node), n)
}

// ControlData implements Backend.
func (l *Local) ControlData(ctx context.Context, node Node) (string, error) {
	// As the server user, with a deadline: pg_control is the server
	// user's to replace (with a FIFO, or a link to a root-only file).
	ctx, cancel := context.WithTimeout(ctx, controlDataTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.bin("pg_controldata"), "-D", l.DataDir(node))
	cmd.Env = []string{"LANG=C", "LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: l.runAs}
	b, err := cmd.CombinedOutput()
	if err != nil {
		return string(b), fmt.Errorf("run pg_controldata: %w: %s", err, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// RemoveAll implements Backend.
func (l *Local) RemoveAll(_ context.Context, p string) error { return os.RemoveAll(p) }

// Shell implements Backend: the user's shell in the data dir, with the
// node's PG* variables set so psql reaches that server.
func (l *Local) Shell(node Node) ([]string, string) {
	sh := os.Getenv("SHELL")
	if sh == "" {
		sh = "/bin/sh"
	}
	host, port := l.clientHostPort(node)
	argv := []string{"env", "PGHOST=" + host, "PGPORT=" + strconv.Itoa(port), "PGUSER=postgres", "PGDATA=" + l.DataDir(node), "PATH=" + l.pgBin + ":" + os.Getenv("PATH"), sh}
	if !socketFits(l.SocketDir()) {
		// PGHOST is /proc/self/fd/3: open the socket dir as fd 3 first.
		argv = append([]string{"sh", "-c", `exec 3<"$1"; shift; exec "$@"`, "sh", l.SocketDir()}, argv...)
	}
	return argv, l.DataDir(node)
}

// Close implements Backend.
func (l *Local) Close(ctx context.Context, stopServers bool) error {
	if !stopServers {
		return nil
	}
	var errs []error
	for _, n := range l.lab.Topology().StopOrder() {
		if err := l.stop(ctx, n, io.Discard, l.notes); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
