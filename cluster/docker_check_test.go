package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

func TestDockerCheckErrors(t *testing.T) {
	img := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lab, err := InitLab(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		opts       DockerOptions
		want, flag string
	}{
		{"image", DockerOptions{Lab: lab, InitImage: img, Image: "walstep-no-such-image:never"}, "image walstep-no-such-image:never not found", "--image"},
		{"init image", DockerOptions{Lab: lab, InitImage: "walstep-no-such-init:never", Image: img}, "image walstep-no-such-init:never not found", "--init-image"},
	} {
		d, err := NewDocker(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		err = d.Check(ctx)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "scripts/test-image.sh") || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%s: Check = %v, want %q, the script and %s", tc.name, err, tc.want, tc.flag)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", tc.name, err)
		}
		d.Close(ctx, false)
	}
	assertNothingLabelled(t, lab)
}

func TestDockerCheckNoEngine(t *testing.T) {
	// A port nothing listens on stands for a stopped engine.
	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
	lab, err := InitLab(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDocker(DockerOptions{Lab: lab})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background(), false)
	err = d.Check(context.Background())
	if !errors.Is(err, ErrDockerUnavailable) || !strings.Contains(err.Error(), "tcp://127.0.0.1:1") || !strings.Contains(err.Error(), "--backend local") {
		t.Errorf("Check without an engine = %v", err)
	}
	if err := Clean(context.Background(), lab); !errors.Is(err, ErrDockerUnavailable) {
		t.Errorf("Clean without an engine = %v, want ErrDockerUnavailable", err)
	}
	if _, err := NewDocker(DockerOptions{Lab: lab, Prefix: "bad/prefix"}); err == nil {
		t.Error("a prefix with a slash should be refused")
	}
}

// TestDockerCleanSideBySide runs two labs with different prefixes at once,
// then cleans one: its containers and network go, the other lab's and an
// unrelated container stay.
func TestDockerCleanSideBySide(t *testing.T) {
	img := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a := newTestDocker(t, img)
	b := newTestDocker(t, img)
	for _, d := range []*Docker{a, b} {
		if err := d.Init(ctx, Primary, nil); err != nil {
			t.Fatal(err)
		}
		if err := d.Start(ctx, Primary, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitAccepting(ctx, t, a, Primary)
	waitAccepting(ctx, t, b, Primary)
	if a.Port(Primary) == b.Port(Primary) {
		t.Fatalf("both labs got port %d", a.Port(Primary))
	}

	// A container that is not walstep's, on the same engine.
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	other, err := cli.ContainerCreate(ctx, &container.Config{Image: img, Cmd: []string{"true"}, Labels: map[string]string{"walstep.test": "unrelated"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.ContainerRemove(context.Background(), other.ID, container.RemoveOptions{Force: true})

	if cs, ns := labelled(t, a.lab); len(cs) != 1 || len(ns) != 1 {
		t.Fatalf("lab a before clean: containers %v networks %v", cs, ns)
	}
	if err := Clean(ctx, a.lab); err != nil {
		t.Fatalf("clean: %v", err)
	}
	assertNothingLabelled(t, a.lab)
	// Deleting postgres-owned files after a clean (walstep clean resets the
	// lab next) must not bring the network back.
	if err := a.removeInContainer(ctx, a.DataDir(Primary)); err != nil {
		t.Fatal(err)
	}
	assertNothingLabelled(t, a.lab)
	if st, err := a.State(ctx, Primary); err != nil || st.Exists {
		t.Errorf("lab a's primary after clean: %+v %v", st, err)
	}
	if st, err := b.State(ctx, Primary); err != nil || !st.Running {
		t.Errorf("lab b's primary must survive cleaning lab a: %+v %v", st, err)
	}
	if _, err := cli.ContainerInspect(ctx, other.ID); err != nil {
		t.Errorf("an unrelated container was touched: %v", err)
	}
	// Cleaning again finds nothing and is fine.
	if err := Clean(ctx, a.lab); err != nil {
		t.Errorf("second clean: %v", err)
	}
}

// TestDockerPrefixCollision: a second lab using the same prefix must not
// take over (or remove) the first lab's containers.
func TestDockerPrefixCollision(t *testing.T) {
	img := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a := newTestDocker(t, img)
	if err := a.Init(ctx, Primary, nil); err != nil {
		t.Fatal(err)
	}
	lab2, err := InitLab(filepath.Join(t.TempDir(), "lab2"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewDocker(DockerOptions{Lab: lab2, InitImage: img, Image: img, Prefix: a.Prefix()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx, false)
	err = b.Init(ctx, Primary, nil)
	if err == nil || !strings.Contains(err.Error(), "another --prefix") {
		t.Errorf("init with a prefix another lab uses: %v", err)
	}
	assertNothingLabelled(t, lab2)
}

// TestDockerWalgMounts: --wal-g PATH is bind-mounted at /usr/local/bin/wal-g
// and the effective run/wal-g.json at /wal-g.json, in short-lived containers
// as in servers.
func TestDockerWalgMounts(t *testing.T) {
	img := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fake := filepath.Join(t.TempDir(), "wal-g")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho fake-wal-g \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := newTestDockerWith(t, img, func(o *DockerOptions) { o.WalgBin = fake })
	lab := d.lab
	if err := WriteWalgConfig(lab, d); err != nil {
		t.Fatal(err)
	}
	p := d.Paths(Replica)
	got := execOut(ctx, t, d, Replica, "postgres", "sh", "-c", p.WalgBin+" --config "+p.WalgConfig+" wal-fetch x y; grep -c '\"WALG_FILE_PREFIX\": \"/wal-g-storage\"' "+p.WalgConfig)
	if got != "fake-wal-g --config /wal-g.json wal-fetch x y\n1" {
		t.Errorf("wal-g and wal-g.json mounts: got %q", got)
	}
}
