package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"walstep/cluster"
)

// requireImages fails under CI, and skips elsewhere, unless the engine
// has every image.
func requireImages(t *testing.T, imgs ...string) {
	t.Helper()
	requireDockerE2E(t)
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for _, img := range imgs {
		if _, err := cli.ImageInspect(context.Background(), img); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("image %s not found under CI (scripts/ci-docker-setup.sh builds it)", img)
			}
			t.Skipf("image %s not found: build it with scripts/test-image.sh", img)
		}
	}
}

// dockerLeftUnder lists containers and networks whose lab label lies under
// dir: explore gives each run a lab of its own.
func dockerLeftUnder(t *testing.T, dir string) []string {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f := filters.NewArgs(filters.Arg("label", cluster.LabelLab))
	var left []string
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if strings.HasPrefix(c.Labels[cluster.LabelLab], dir) {
			left = append(left, "container "+strings.Join(c.Names, ","))
		}
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if strings.HasPrefix(n.Labels[cluster.LabelLab], dir) {
			left = append(left, "network "+n.Name)
		}
	}
	return left
}

// Two PostgreSQL majors, both archivers (the real WAL-G in the images), the
// bug and its first measured fix, in one command on Docker.
func TestE2EExploreDockerTwoMajorsBothArchivers(t *testing.T) {
	t.Parallel()
	requireImages(t, "walstep-test-pg:15-walg", "walstep-test-pg:17-walg")
	dir, err := os.MkdirTemp("", "walstep-explore-docker-")
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	t.Cleanup(func() {
		if left := dockerLeftUnder(t, real); len(left) > 0 {
			t.Errorf("explore left behind: %v", left)
		}
		_ = os.RemoveAll(dir)
	})
	lab := filepath.Join(dir, "lab")
	if code := realMain([]string{"init", lab}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("init: exit %d", code)
	}
	m, code, stderr := exploreJSON(t, "--lab", lab, "--backend", "docker", "--pg", "15,17", "--archiver", "cp,wal-g",
		"--variants", "default,no-target", "--jobs", "2", "--prefix", "wsx-"+filepath.Base(dir)[len("walstep-explore-docker-"):])
	if code != 0 {
		t.Fatalf("explore: exit %d\n%s", code, stderr)
	}
	checkCells(t, m, "docker", 4, map[string]string{"default": "diverged", "no-target": "healthy"})
	assertOwnArchives(t, m)
	seen := map[string]bool{}
	for _, c := range m.Cells {
		seen[c.Archiver] = true
		seen[fmt.Sprintf("pg%d", c.PG)] = true
	}
	for _, k := range []string{"cp", "wal-g", "pg15", "pg17"} {
		if !seen[k] {
			t.Errorf("no cell for %s", k)
		}
	}
	// PostgreSQL 17's standby does not fail: it waits, while
	// pg_stat_wal_receiver says streaming, and logs why at LOG level. The
	// last step must say so, not "streams".
	tr, err := os.ReadFile(filepath.Join(m.Dir, "default", "pg17-cp", "run1", "transcript.md"))
	if err != nil || !strings.Contains(string(tr), "replica reports: ") || !strings.Contains(string(tr), "ahead of") {
		t.Errorf("PostgreSQL 17 default run: F6 does not report the waiting wal receiver (%v)", err)
	}
}

// PostgreSQL 18 through --image with a tag of the user's choosing: the
// bug and the fix on 18 as on 17, F6 quoting 18's refusal of the standby
// (its FATAL, or at LOG level "… is ahead of the upstream server's flush
// position …, waiting").
func TestE2EExploreDocker18WithImageFlag(t *testing.T) {
	t.Parallel()
	requireImages(t, "walstep-test-pg:18-walg")
	dir, err := os.MkdirTemp("", "walstep-explore-docker-")
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	suffix := filepath.Base(dir)[len("walstep-explore-docker-"):]
	tag := "wsx-own-image:" + strings.ToLower(suffix)
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if err := cli.ImageTag(t.Context(), "walstep-test-pg:18-walg", tag); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), tag, image.RemoveOptions{})
		if left := dockerLeftUnder(t, real); len(left) > 0 {
			t.Errorf("explore left behind: %v", left)
		}
		_ = os.RemoveAll(dir)
	})
	lab := filepath.Join(dir, "lab")
	if code := realMain([]string{"init", lab}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("init: exit %d", code)
	}
	m, code, stderr := exploreJSON(t, "--lab", lab, "--backend", "docker", "--pg", "18", "--image", "18="+tag, "--archiver", "cp",
		"--variants", "default,no-target", "--jobs", "2", "--prefix", "wsx-"+suffix)
	if code != 0 {
		t.Fatalf("explore: exit %d\n%s", code, stderr)
	}
	checkCells(t, m, "docker", 1, map[string]string{"default": "diverged", "no-target": "healthy"})
	tr, err := os.ReadFile(filepath.Join(m.Dir, "default", "pg18-cp", "run1", "transcript.md"))
	if err != nil || !strings.Contains(string(tr), "replica reports: ") || !strings.Contains(string(tr), "ahead of") {
		var said []string
		for _, l := range strings.Split(string(tr), "\n") {
			if strings.Contains(l, "replica reports") || strings.Contains(l, "PostgreSQL") || strings.Contains(l, "streams") {
				said = append(said, l)
			}
		}
		t.Errorf("PostgreSQL 18 default run: F6 should report PostgreSQL's refusal (%v):\n%s", err, strings.Join(said, "\n"))
	}
}
