package tui

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"walstep/cluster"
)

// dockerServers is a Docker-like backend whose containers may be stopped.
type dockerServers struct {
	*fakeServers
	state cluster.ProcState
}

func (dockerServers) ShellInContainer() bool { return true }

func (d dockerServers) State(context.Context, cluster.Node) (cluster.ProcState, error) {
	return d.state, nil
}

// x on a stopped container says so instead of flashing a shell that fails
// with "exit status 1"; on a running one the banner shows the docker exec
// as the seed types it (as root), not the environment it is given.
func TestShellOnDockerContainer(t *testing.T) {
	srv := dockerServers{fakeServers: &fakeServers{shell: []string{"docker", "exec", "-it", "-u", "root", "-e", "PGDATA=/data", "-e", "PGHOST=127.0.0.1", "walstep-primary", "/bin/bash"}},
		state: cluster.ProcState{Exists: true, ExitCode: 0, Detail: "exited 0"}}
	m, _ := testModel(freshSnap())
	m.cfg.Servers = srv
	m, cmd := press(m, "x")
	msg := cmd().(shellMsg)
	if msg.cmd != nil || !strings.Contains(msg.note, "the primary's container is stopped (exited 0)") {
		t.Fatalf("x on a stopped container: cmd %v, note %q", msg.cmd, msg.note)
	}
	m = send(m, msg)
	if !strings.Contains(m.View(), "container is stopped") {
		t.Errorf("the notice is not shown:\n%s", m.View())
	}

	srv.state = cluster.ProcState{Exists: true, Running: true}
	m.cfg.Servers = srv
	_, cmd = press(m, "x")
	msg = cmd().(shellMsg)
	if msg.cmd == nil {
		t.Fatal("no shell for a running container")
	}
	banner := msg.cmd.Args[3]
	if !strings.Contains(banner, "docker exec -it -u root walstep-primary /bin/bash") || strings.Contains(banner, "PGHOST") {
		t.Errorf("banner %q", banner)
	}
}

// The shell runs on the alternate screen, so what it printed does not stay
// on the terminal once walstep exits.
func TestShellRunsOnTheAlternateScreen(t *testing.T) {
	var out strings.Builder
	a := &altScreenExec{Cmd: exec.Command("sh", "-c", "echo SHELLMARK")}
	a.SetStdin(strings.NewReader(""))
	a.SetStdout(&out)
	a.SetStderr(&out)
	if err := a.Run(); err != nil {
		t.Fatal(err)
	}
	if want := altScreenOn + "SHELLMARK\n" + altScreenOff; out.String() != want {
		t.Fatalf("the shell wrote %q, want %q", out.String(), want)
	}
}
