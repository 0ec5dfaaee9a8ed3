package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"walstep/cluster"
	"walstep/headless"
	"walstep/pg"
)

// A down server's reading is never older than its pg_control: the primary
// is started and stopped again by hand between two polls, which changes
// its checkpoint and nothing of the process walstep sees, and the next
// poll reports what pg_controldata itself says now. (The poller's time
// limit on re-reading is an hour here so only the file can refresh it.)
func TestE2ELocalControlDataFollowsTheFile(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab)
	s, err := openSession(t.Context(), options{lab: lab, backend: "local", archiver: "cp"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(true)
	res := headless.RunPlaybook(t.Context(), s, io.Discard, false)
	if res.Failed >= 0 {
		t.Fatalf("step %s failed: %v", s.Steps[res.Failed].ID, res.Snap.States[res.Failed].Err)
	}
	if err := s.Backend.Stop(t.Context(), cluster.Primary, io.Discard); err != nil {
		t.Fatal(err)
	}
	p := pg.NewPoller(s.Backend, pg.PollerOptions{ControlEvery: time.Hour})
	defer p.Close()
	checkpoint := func(r pg.Reading) string {
		t.Helper()
		if r.Control == nil {
			t.Fatalf("primary down but no pg_controldata reading (%s, %s)", r.Process, r.Err)
		}
		return r.Control.Raw["Latest checkpoint location"]
	}
	before := checkpoint(p.Poll(t.Context()).Nodes[0])

	// By hand, as the server user, with the config's own settings.
	dd := filepath.Join(lab, cluster.PrimaryData)
	pgctl := func(args ...string) {
		t.Helper()
		argv := append([]string{"/usr/lib/postgresql/15/bin/pg_ctl", "-D", dd, "-w", "-t", "60"}, args...)
		if os.Geteuid() == 0 {
			argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
		}
		cmd := exec.CommandContext(t.Context(), argv[0], argv[1:]...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	pgctl("-l", filepath.Join(lab, cluster.LogsDir, "primary.log"), "-o", "-c listen_addresses= -c unix_socket_directories=../run/sockets -c port="+strings.TrimPrefix(s.Backend.Addr(cluster.Primary), "127.0.0.1:"), "start")
	pgctl("-m", "fast", "stop")

	out, err := exec.Command("/usr/lib/postgresql/15/bin/pg_controldata", "-D", dd).Output()
	if err != nil {
		t.Fatal(err)
	}
	truth := pg.ParseControlData(string(out)).Raw["Latest checkpoint location"]
	if truth == before {
		t.Fatalf("the start and stop by hand did not move the checkpoint (%s): nothing to tell apart", truth)
	}
	if got := checkpoint(p.Poll(t.Context()).Nodes[0]); got != truth {
		t.Errorf("poll after the restart by hand: latest checkpoint %s, pg_controldata says %s (before it: %s)", got, truth, before)
	}
}
