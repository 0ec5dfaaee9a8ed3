package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The local backend authenticates as the seed's Docker setup does: initdb
// with scram for every TCP connection, so the replica's primary_conninfo
// (127.0.0.1, the password of step 4c: the lab's secret, see Lab.Secret,
// since every local user can reach 127.0.0.1) is checked like a
// container's, and
// a wrong password or slot fails the same way on both backends. walstep
// itself, its steps and the side panel reach the servers through a unix
// socket in a private directory of the lab (run/sockets, 0700, the server
// user's), where initdb's local trust lets in only root and that user.

// SocketsDir is the lab's private directory of the local servers' sockets.
const SocketsDir = "sockets"

// socketDirFromData is the socket directory as the server sees it:
// relative to its data dir (postgres runs there), so a long lab path does
// not exceed the socket path limit on the server's side.
var socketDirFromData = filepath.Join("..", RunDir, SocketsDir)

// initdbAuth are initdb's options for that.
var initdbAuth = []string{"--auth-host=scram-sha-256", "--auth-local=trust"}

// maxSocketPath is the longest unix socket path (sun_path less its NUL).
const maxSocketPath = 107

// SocketDir is the host path of the lab's socket directory.
func (l *Local) SocketDir() string { return l.lab.Path(RunDir, SocketsDir) }

// socketFits reports whether clients can name a socket in dir directly.
func socketFits(dir string) bool { return len(dir)+len("/.s.PGSQL.65535") <= maxSocketPath }

// prepareSocketDir makes run/sockets the server user's, 0700.
func (l *Local) prepareSocketDir() error {
	return l.prepareDir(l.SocketDir(), 0o700)
}

// reach is how a client reaches node's server: the lab's socket dir and
// walstep's port, or, for a server started otherwise (pg_ctl start by hand
// or from a hook takes its socket dir from the config and its port from
// PGPORT), the socket dir and port its postmaster.pid publishes.
func (l *Local) reach(node Node) (dir string, port int, own bool) {
	dir, port = l.SocketDir(), l.ports[node]
	dd := l.DataDir(node)
	if PostmasterPID(dd) <= 0 {
		return dir, port, true
	}
	b, err := ReadBelow(context.Background(), dd, "postmaster.pid", maxPidFile)
	if err != nil {
		return dir, port, true
	}
	pm, ok := ParsePostmasterFile(b)
	if !ok || pm.Port <= 0 || pm.Port > 65535 {
		return dir, port, true
	}
	sd := pm.SocketDir
	if sd != "" && !filepath.IsAbs(sd) {
		sd = filepath.Join(dd, sd)
	}
	if sd == "" || filepath.Clean(sd) == filepath.Clean(dir) {
		return dir, pm.Port, true
	}
	return sd, pm.Port, false
}

// clientHost is PGHOST for a program walstep runs: the socket directory,
// or, when its path is too long to name a socket in, /proc/self/fd/3,
// with the directory passed as fd 3 (see withSocketFD).
func (l *Local) clientHost() string {
	if socketFits(l.SocketDir()) {
		return l.SocketDir()
	}
	return "/proc/self/fd/3"
}

// clientHostPort is PGHOST and PGPORT for a program walstep runs on node.
func (l *Local) clientHostPort(node Node) (string, int) {
	dir, port, own := l.reach(node)
	if !own {
		return dir, port
	}
	return l.clientHost(), port
}

// socketDirFile opens the socket directory for passing to a child as fd
// 3 when clientHost needs it; nil otherwise.
func (l *Local) socketDirFile() (*os.File, error) {
	if socketFits(l.SocketDir()) {
		return nil, nil
	}
	f, err := os.Open(l.SocketDir())
	if err != nil {
		return nil, fmt.Errorf("open socket dir: %w", err)
	}
	return f, nil
}

// dialUnix connects to a unix socket; a path too long for sun_path is
// reached through its directory's /proc/self/fd entry.
func dialUnix(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	if len(addr) <= maxSocketPath {
		return d.DialContext(ctx, "unix", addr)
	}
	fd, err := syscall.Open(filepath.Dir(addr), syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open socket dir: %w", err)
	}
	defer syscall.Close(fd)
	return d.DialContext(ctx, "unix", fmt.Sprintf("/proc/self/fd/%d/%s", fd, filepath.Base(addr)))
}

// quoteConnValue quotes a value for a key=value connection string.
func quoteConnValue(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}
