package cluster

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"walstep/cluster/dockertest"
)

// These tests drive a real Docker engine with a real PostgreSQL image
// (WALSTEP_TEST_IMAGE, default walstep-test-pg:15, built without a registry
// by scripts/test-image.sh). Without an engine or the image they skip,
// except in CI (CI=true), where that is a failure.

// requireDocker returns the test image, or skips (fails under CI) when the
// engine or the image is missing.
func requireDocker(t *testing.T) string {
	t.Helper()
	return dockertest.Require(t, dockertest.Image(), "docker tests")
}

// newTestDocker makes a lab in a temp dir and a Docker backend on it with a
// unique prefix. Cleanup closes it (stopping servers), removes the lab's
// files through the backend (they belong to the container's postgres user)
// and asserts that nothing with the lab's label is left.
func newTestDocker(t *testing.T, img string) *Docker {
	t.Helper()
	return newTestDockerWith(t, img, func(*DockerOptions) {})
}

// newTestDockerWith is newTestDocker with options adjusted by set.
func newTestDockerWith(t *testing.T, img string, set func(*DockerOptions)) *Docker {
	t.Helper()
	lab, err := InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	opts := DockerOptions{Lab: lab, InitImage: img, Image: img, Prefix: "wstest-" + randHex(3), StopTimeout: 20 * time.Second}
	set(&opts)
	d, err := NewDocker(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, p := range lab.Generated() {
			if err := d.RemoveAll(ctx, p); err != nil {
				t.Errorf("remove %s: %v", p, err)
			}
		}
		if err := d.Close(ctx, true); err != nil {
			t.Errorf("close: %v", err)
		}
		assertNothingLabelled(t, lab)
	})
	return d
}

// labelled lists the containers ("name (state)") and networks carrying
// lab's label.
func labelled(t *testing.T, lab *Lab) (containers, networks []string) {
	t.Helper()
	return dockertest.Labelled(t, LabelLab, lab.Dir)
}

func assertNothingLabelled(t *testing.T, lab *Lab) {
	t.Helper()
	cs, ns := labelled(t, lab)
	if len(cs) > 0 || len(ns) > 0 {
		t.Errorf("left behind for lab %s: containers %v, networks %v", lab.Dir, cs, ns)
	}
}

// waitAccepting waits (with a deadline) until node answers a query.
func waitAccepting(ctx context.Context, t *testing.T, d *Docker, node Node) {
	t.Helper()
	err := Until(ctx, 60*time.Second, string(node)+" to accept connections", func(ctx context.Context) (bool, error) {
		st, err := d.State(ctx, node)
		if err != nil {
			return false, err
		}
		if !st.Running {
			lines, _ := d.LogTail(ctx, node, 20)
			return false, errors.New(string(node) + " exited: " + st.Detail + "\n" + strings.Join(lines, "\n"))
		}
		var one int
		return QueryRow(ctx, d.ConnString(node), "select 1", &one) == nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func execOut(ctx context.Context, t *testing.T, d *Docker, node Node, user string, argv ...string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := d.Exec(ctx, node, user, argv, &buf); err != nil {
		t.Fatalf("exec %v as %s on %s: %v\n%s", argv, user, node, err, buf.String())
	}
	// Drop the echoed "$ ..." line.
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if !strings.HasPrefix(l, "$ ") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

func hasLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func TestDockerLifecycle(t *testing.T) {
	img := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	d := newTestDocker(t, img)
	if err := d.Check(ctx); err != nil {
		t.Fatalf("check: %v", err)
	}

	var out bytes.Buffer
	if err := d.Init(ctx, Primary, &out); err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Success") {
		t.Errorf("initdb output lacks its success message:\n%s", out.String())
	}
	hba := execOut(ctx, t, d, Primary, "root", "cat", "/data/pg_hba.conf")
	gwLine := strings.Contains(hba, "host all postgres ") && strings.Contains(hba, "/32 md5  # walstep:")
	if d.socketAuth() == gwLine {
		t.Errorf("pg_hba.conf: gateway line %v with the socket %v:\n%s", gwLine, d.socketAuth(), hba)
	}

	out.Reset()
	if err := d.Start(ctx, Primary, &out); err != nil {
		t.Fatalf("start: %v\n%s", err, out.String())
	}
	waitAccepting(ctx, t, d, Primary)
	if !strings.HasPrefix(d.Addr(Primary), "127.0.0.1:") || d.Port(Primary) == 0 {
		t.Errorf("addr %q is not a published loopback port", d.Addr(Primary))
	}
	if st, err := d.State(ctx, Primary); err != nil || !st.Exists || !st.Running {
		t.Errorf("state of running primary: %+v, %v", st, err)
	}
	// The host's connection comes through the lab's socket (as root), else
	// from the network gateway, which is what the walstep pg_hba line lets in.
	var client *string
	if err := QueryRow(ctx, d.ConnString(Primary), "select host(inet_client_addr())", &client); err != nil {
		t.Errorf("host connection: %v", err)
	} else if d.socketAuth() && client != nil {
		t.Errorf("host connection comes from %q, want the lab's unix socket", *client)
	} else if !d.socketAuth() && (client == nil || *client != d.gateway) {
		t.Errorf("host connection comes from %v, want the gateway %s", client, d.gateway)
	}

	t.Run("exec in the running container", func(t *testing.T) {
		if got := execOut(ctx, t, d, Primary, "root", "id", "-un"); got != "root" {
			t.Errorf("exec as root ran as %q", got)
		}
		if got := execOut(ctx, t, d, Primary, "postgres", "psql", "-Atc", "select current_user"); got != "postgres" {
			t.Errorf("psql as postgres: %q", got)
		}
		err := d.Exec(ctx, Primary, "postgres", []string{"sh", "-c", "exit 3"}, nil)
		if err == nil || !strings.Contains(err.Error(), "exited with code 3") {
			t.Errorf("failing command: got %v, want an error naming exit code 3", err)
		}
		if err := d.Exec(ctx, Primary, "nobody", []string{"true"}, nil); err == nil {
			t.Error("exec as an unknown user should fail")
		}
	})

	t.Run("exec without a container runs a short-lived one", func(t *testing.T) {
		got := execOut(ctx, t, d, Replica, "postgres", "sh", "-c", "id -un; touch /data/made-in-task; test -d /wal-g-storage && echo storage")
		if got != "postgres\nstorage" {
			t.Errorf("short-lived container output %q", got)
		}
		// The host may not look inside a postgres-owned dir (non-root
		// host user), so a second task checks the file is in the mount.
		if got := execOut(ctx, t, d, Replica, "root", "ls", "/data"); got != "made-in-task" {
			t.Errorf("the file written in the first task is not in the lab's replica-data: %q", got)
		}
		if got := execOut(ctx, t, d, Replica, "root", "id", "-u"); got != "0" {
			t.Errorf("root task ran as uid %q", got)
		}
		err := d.Exec(ctx, Replica, "root", []string{"sh", "-c", "echo boom >&2; exit 4"}, nil)
		if err == nil || !strings.Contains(err.Error(), "exited with code 4") {
			t.Errorf("failing task: got %v", err)
		}
		if st, err := d.State(ctx, Replica); err != nil || st.Exists {
			t.Errorf("a task must not leave a replica container: %+v %v", st, err)
		}
	})

	t.Run("control data of a running server", func(t *testing.T) {
		cd, err := d.ControlData(ctx, Primary)
		if err != nil || !strings.Contains(cd, "in production") {
			t.Errorf("pg_controldata: %v\n%s", err, cd)
		}
	})

	t.Run("a server that exits on its own keeps state and log", func(t *testing.T) {
		// initdb wants an empty directory.
		execOut(ctx, t, d, Replica, "postgres", "rm", "/data/made-in-task")
		var out bytes.Buffer
		if err := d.Init(ctx, Replica, &out); err != nil {
			t.Fatalf("init replica: %v\n%s", err, out.String())
		}
		execOut(ctx, t, d, Replica, "postgres", "sh", "-c", "echo 'walstep_bogus_setting = 1' >> /data/postgresql.conf")
		if err := d.Start(ctx, Replica, nil); err != nil {
			t.Fatal(err)
		}
		st, err := WaitExited(ctx, d, Replica, 60*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Exists || st.Running || st.ExitCode == 0 {
			t.Errorf("state after a failed start: %+v", st)
		}
		lines, err := d.LogTail(ctx, Replica, 50)
		if err != nil || !hasLine(lines, "walstep_bogus_setting") {
			t.Errorf("log tail of the exited replica (%v): %q", err, lines)
		}
		if err := d.Stop(ctx, Replica, nil); err != nil {
			t.Fatal(err)
		}
		if st, _ := d.State(ctx, Replica); st.Exists {
			t.Errorf("stop must remove the container: %+v", st)
		}
		lines, err = d.LogTail(ctx, Replica, 50)
		if err != nil || !hasLine(lines, "walstep_bogus_setting") {
			t.Errorf("log tail after removal (%v): %q", err, lines)
		}
	})

	t.Run("stop is a fast shutdown and keeps the log", func(t *testing.T) {
		var out bytes.Buffer
		start := time.Now()
		if err := d.Stop(ctx, Primary, &out); err != nil {
			t.Fatalf("stop: %v\n%s", err, out.String())
		}
		t.Logf("stop took %s", time.Since(start).Round(time.Millisecond))
		if st, err := d.State(ctx, Primary); err != nil || st.Exists {
			t.Errorf("state after stop: %+v %v", st, err)
		}
		lines, err := d.LogTail(ctx, Primary, 100)
		if err != nil || !hasLine(lines, "fast shutdown request") || !hasLine(lines, "database system is shut down") {
			t.Errorf("primary log after stop (%v): %q", err, lines)
		}
		if err := d.Stop(ctx, Primary, nil); err != nil {
			t.Errorf("stopping a stopped server: %v", err)
		}
		cd, err := d.ControlData(ctx, Primary)
		if err != nil || !strings.Contains(cd, "shut down") {
			t.Errorf("pg_controldata of a stopped server: %v\n%s", err, cd)
		}
		t0 := time.Now()
		cd2, err := d.ControlData(ctx, Primary)
		if err != nil || cd2 != cd {
			t.Errorf("second pg_controldata: %v", err)
		}
		t.Logf("cached pg_controldata took %s", time.Since(t0))
	})

	t.Run("remove postgres-owned files", func(t *testing.T) {
		dd := d.DataDir(Primary)
		if err := d.removeInContainer(ctx, dd); err != nil {
			t.Fatalf("remove through a container: %v", err)
		}
		if _, err := os.Lstat(dd); !os.IsNotExist(err) {
			t.Errorf("%s still exists: %v", dd, err)
		}
		if err := d.RemoveAll(ctx, d.DataDir(Replica)); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(d.DataDir(Replica)); !os.IsNotExist(err) {
			t.Errorf("replica data still exists: %v", err)
		}
		if _, err := d.ControlData(ctx, Primary); err == nil {
			t.Error("pg_controldata of a missing data dir should fail")
		}
		if _, err := os.Lstat(dd); !os.IsNotExist(err) {
			t.Errorf("pg_controldata must not create the data dir: %v", err)
		}
	})
}
