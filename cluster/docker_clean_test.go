package cluster

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// `walstep clean` with the engine unreachable cannot see the lab's
// containers, which may still run on its data dirs: it removes nothing and
// says why. With the engine back it cleans as usual.
func TestCleanLabKeepsDataWhenTheEngineIsGone(t *testing.T) {
	img := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := newTestDocker(t, img)
	var out bytes.Buffer
	if err := d.Init(ctx, Primary, &out); err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	if err := d.Start(ctx, Primary, &out); err != nil {
		t.Fatalf("start: %v\n%s", err, out.String())
	}
	waitAccepting(ctx, t, d, Primary)

	real := os.Getenv("DOCKER_HOST")
	t.Setenv("DOCKER_HOST", "unix:///nonexistent.sock")
	err := CleanLab(ctx, d.lab, CleanOptions{Prefix: d.prefix, Out: &out})
	if err == nil || !strings.Contains(err.Error(), "nothing was removed") || !strings.Contains(err.Error(), "nonexistent.sock") {
		t.Fatalf("clean without an engine: %v, want a refusal that says why", err)
	}
	if _, err := os.Stat(d.lab.Path(PrimaryData, "PG_VERSION")); err != nil {
		t.Fatalf("clean without an engine removed the data dir of a running container: %v", err)
	}
	if real == "" {
		os.Unsetenv("DOCKER_HOST")
	} else {
		os.Setenv("DOCKER_HOST", real)
	}
	if st, err := d.State(ctx, Primary); err != nil || !st.Running {
		t.Fatalf("primary after the refused clean: %+v %v", st, err)
	}
	if err := CleanLab(ctx, d.lab, CleanOptions{Out: &out}); err != nil {
		t.Fatalf("clean with the engine: %v", err)
	}
	if _, err := os.Stat(d.lab.Path(PrimaryData)); !os.IsNotExist(err) {
		t.Errorf("clean left the data dir: %v", err)
	}
	if _, err := os.Stat(d.lab.Path(DockerUsedFile)); !os.IsNotExist(err) {
		t.Errorf("clean left %s: %v", DockerUsedFile, err)
	}
}
