package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"walstep/cluster"
	"walstep/cluster/dockertest"
)

// The Docker end-to-end tests run `walstep run --backend docker` with the
// cp archiver on a real engine, with the registry-free test image
// (WALSTEP_TEST_IMAGE, default walstep-test-pg:15, from scripts/test-image.sh)
// as both --image and --init-image. Without an engine or the image they
// skip, except under CI=true, where that is a failure.

func requireDockerE2E(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: runs PostgreSQL containers")
	}
	return dockertest.Require(t, dockertest.Image(), "docker e2e tests")
}

// dockerLab makes a lab dir and the flags that run it on Docker with a
// prefix of its own. Cleanup runs `walstep clean` (containers may have left
// postgres-owned files that only a container can delete when the tests do
// not run as root) and asserts that nothing with the lab's label is left.
func dockerLab(t *testing.T, img string) (lab string, flags []string) {
	t.Helper()
	return dockerLabAt(t, img, filepath.Join(t.TempDir(), "lab"))
}

// dockerLabAt is dockerLab with the lab at a path of the caller's.
func dockerLabAt(t *testing.T, img, lab string) (string, []string) {
	t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	prefix := "wse2e-" + hex.EncodeToString(b)
	flags := []string{"--lab", lab, "--backend", "docker", "--archiver", "cp", "--image", img, "--init-image", img, "--prefix", prefix}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(lab, cluster.MarkerFile)); err != nil {
			return
		}
		var out, errb bytes.Buffer
		if code := realMain([]string{"clean", "--lab", lab, "--prefix", prefix, "--image", img, "--init-image", img}, &out, &errb); code != 0 {
			t.Errorf("walstep clean: exit %d\n%s%s", code, out.String(), errb.String())
		}
		assertNoDockerLeft(t, lab)
	})
	return lab, flags
}

// dockerLeft lists containers and networks labelled with lab (resolved as
// cluster.Lab resolves it).
func dockerLeft(t *testing.T, lab string) (containers, networks []string) {
	t.Helper()
	real, err := filepath.EvalSymlinks(lab)
	if err != nil {
		real = lab
	}
	return dockertest.Labelled(t, cluster.LabelLab, real)
}

func assertNoDockerLeft(t *testing.T, lab string) {
	t.Helper()
	if cs, ns := dockerLeft(t, lab); len(cs)+len(ns) > 0 {
		t.Errorf("walstep left behind for %s: containers %v, networks %v", lab, cs, ns)
	}
}

func TestE2EDockerDefaultLabDiverges(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	lab, flags := dockerLab(t, img)
	start := time.Now()
	rep, code, stderr := runJSON(t, flags...)
	t.Logf("walstep run on docker took %s", time.Since(start).Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	assertDiverged(t, rep)
	// The run stops and removes its containers and network.
	assertNoDockerLeft(t, lab)
}

func TestE2EDockerNoRecoveryTargetIsHealthy(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	lab, flags := dockerLab(t, img)
	initLabWith(t, lab, "primary_restore.conf", noTarget)
	rep, code, stderr := runJSON(t, flags...)
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	assertHealthy(t, rep)
	assertNoDockerLeft(t, lab)
}

// TestE2EDockerKeepRunningThenClean leaves the servers running, then runs
// again on the same lab (the reset must stop and replace them), and finally
// `walstep clean` must remove every container, the network and the lab's
// generated dirs, keeping the editable files.
func TestE2EDockerKeepRunningThenClean(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	lab, flags := dockerLab(t, img)
	keep := append([]string{"--keep-running"}, flags...)
	for i := 1; i <= 2; i++ {
		rep, code, stderr := runJSON(t, keep...)
		if code != 0 {
			t.Fatalf("run %d exit %d, stderr:\n%s", i, code, stderr)
		}
		if len(rep.Archive.Backups) != 1 {
			t.Errorf("run %d: backups %v, want exactly one (the reset must clear the old archive)", i, rep.Archive.Backups)
		}
		cs, ns := dockerLeft(t, lab)
		if len(cs) != 2 || len(ns) != 1 {
			t.Fatalf("run %d with --keep-running: containers %v networks %v, want the two servers and the network", i, cs, ns)
		}
	}
	var out, errb bytes.Buffer
	cleanArgs := []string{"clean", "--lab", lab, "--prefix", flags[len(flags)-1], "--image", img, "--init-image", img}
	if code := realMain(cleanArgs, &out, &errb); code != 0 {
		t.Fatalf("clean: exit %d\n%s%s", code, out.String(), errb.String())
	}
	assertNoDockerLeft(t, lab)
	for _, gen := range []string{cluster.PrimaryData, cluster.ReplicaData, cluster.StorageDir} {
		if _, err := os.Lstat(filepath.Join(lab, gen)); !os.IsNotExist(err) {
			t.Errorf("%s still in the lab after clean: %v", gen, err)
		}
	}
	for _, keep := range []string{"primary_restore.conf", "replica_restore.conf", "replica_standby.conf", "wal-g.json", cluster.MarkerFile} {
		if _, err := os.Stat(filepath.Join(lab, keep)); err != nil {
			t.Errorf("editable file %s gone after clean: %v", keep, err)
		}
	}
}

// fakeWalG is a stand-in for a wal-g binary (WAL-G cannot be installed
// here): the seed's commands, with wal-g's exit codes, on the file storage
// named by WALG_FILE_PREFIX in the --config file. It lets the test check
// that --wal-g PATH is mounted into the containers and that the wal-g
// archiver's exact commands run there.
const fakeWalG = `#!/bin/sh
set -e
cfg=
if [ "$1" = --config ]; then cfg=$2; shift 2; fi
store=$(sed -n 's/.*"WALG_FILE_PREFIX": *"\([^"]*\)".*/\1/p' "$cfg")
[ -d "$store" ] || { echo "FS storage root directory doesn't exist or is inaccessible" >&2; exit 1; }
cmd=$1; shift
case $cmd in
wal-push)
	mkdir -p "$store/wal_005"; f=$(basename "$1")
	test -f "$store/wal_005/$f" || cp "$1" "$store/wal_005/$f" ;;
wal-fetch)
	test -f "$store/wal_005/$1" || exit 74
	test ! -e "$2" || exit 1
	cp "$store/wal_005/$1" "$2" ;;
backup-push)
	mkdir -p "$store/basebackups_005"; tmp=$store/basebackups_005/.incoming; rm -rf "$tmp"
	pg_basebackup -D "$tmp" -X none --checkpoint=fast
	seg=$(sed -n 's/^START WAL LOCATION: .*(file \([0-9A-F]*\))$/\1/p' "$tmp/backup_label")
	mv "$tmp" "$store/basebackups_005/base_$seg" ;;
backup-list)
	echo "INFO: fake wal-g listing" >&2
	printf '['; sep=
	for d in "$store"/basebackups_005/base_*; do
		[ -d "$d" ] || continue
		printf '%s{"backup_name":"%s"}' "$sep" "$(basename "$d")"; sep=,
	done
	printf ']\n' ;;
backup-fetch)
	mkdir -p "$1"; chmod 700 "$1"; cp -a "$store/basebackups_005/$2/." "$1/" ;;
*)
	echo "fake wal-g: unknown command $cmd" >&2; exit 1 ;;
esac
`

func TestE2EDockerWalGPathIsMounted(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	lab, flags := dockerLab(t, img)
	bin := filepath.Join(t.TempDir(), "wal-g")
	if err := os.WriteFile(bin, []byte(fakeWalG), 0o755); err != nil {
		t.Fatal(err)
	}
	for i, f := range flags {
		if f == "--archiver" {
			flags[i+1] = "wal-g"
		}
	}
	rep, code, stderr := runJSON(t, append(flags, "--wal-g", bin)...)
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	for _, s := range rep.Steps {
		if s.Status != "done" {
			t.Errorf("step %s: %s %s", s.ID, s.Status, s.Error)
		}
	}
	if len(rep.Archive.Backups) != 1 || rep.Archive.Backups[0] != "base_000000010000000000000002" {
		t.Errorf("backups %v, want base_000000010000000000000002 as in the seed", rep.Archive.Backups)
	}
	// The verdict with WAL-G is TestE2EWalGDocker's, with the real one.
	assertNoDockerLeft(t, lab)
}

// imageWithWalG commits img plus the fake wal-g at /usr/local/bin/wal-g, as
// the seed's postgres_repro image carries it, and removes it at cleanup.
func imageWithWalG(t *testing.T, img string) string {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx := context.Background()
	c, err := cli.ContainerCreate(ctx, &container.Config{Image: img, Cmd: []string{"true"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	_ = tw.WriteHeader(&tar.Header{Name: "wal-g", Mode: 0o755, Size: int64(len(fakeWalG))})
	_, _ = tw.Write([]byte(fakeWalG))
	_ = tw.Close()
	if err := cli.CopyToContainer(ctx, c.ID, "/usr/local/bin", &tb, container.CopyToContainerOptions{}); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	tag := "walstep-test-walg:" + hex.EncodeToString(b)
	if _, err := cli.ContainerCommit(ctx, c.ID, container.CommitOptions{Reference: tag}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true}) })
	return tag
}

// --archiver wal-g on Docker uses the image's /usr/local/bin/wal-g, as
// --archiver auto does: a host without wal-g on PATH must not refuse the
// seed's own image. An image without it is one line that says what to do.
func TestE2EDockerArchiverWalGFromImage(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	walgImg := imageWithWalG(t, img)
	if p, err := exec.LookPath("wal-g"); err == nil {
		t.Skipf("wal-g on the host's PATH (%s): this test needs a host without one", p)
	}
	lab, flags := dockerLab(t, img)
	for i, f := range flags {
		switch f {
		case "--archiver":
			flags[i+1] = "wal-g"
		case "--image":
			flags[i+1] = walgImg
		}
	}
	rep, code, stderr := runJSON(t, flags...)
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "wal-g archiver (asked for with --archiver wal-g): image "+walgImg+" has /usr/local/bin/wal-g") {
		t.Errorf("stderr does not say where wal-g comes from:\n%s", stderr)
	}
	assertDiverged(t, rep)
	assertNoDockerLeft(t, lab)

	lab2, flags2 := dockerLab(t, img)
	for i, f := range flags2 {
		if f == "--archiver" {
			flags2[i+1] = "wal-g"
		}
	}
	code, _, stderr = runMain(append([]string{"run"}, flags2...)...)
	if code == 0 {
		t.Fatal("--archiver wal-g ran with an image that has no wal-g")
	}
	oneLineError(t, stderr, "image "+img+" has no /usr/local/bin/wal-g and there is no wal-g on PATH: pass --wal-g PATH")
	assertNoDockerLeft(t, lab2)
}

// A wal-g found on the host's PATH, when the image has none, is mounted at
// /usr/local/bin/wal-g like --wal-g: before, --archiver auto picked the
// wal-g archiver ("found .../wal-g") but the containers had no wal-g, so
// step 4d failed with "stat /usr/local/bin/wal-g: no such file".
func TestE2EDockerWalGOnPATHIsMounted(t *testing.T) {
	img := requireDockerE2E(t) // not parallel: it sets PATH
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "wal-g"), []byte(fakeWalG), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	lab, flags := dockerLab(t, img)
	for i, f := range flags {
		if f == "--archiver" {
			flags[i+1] = "auto"
		}
	}
	rep, code, stderr := runJSON(t, flags...)
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, filepath.Join(dir, "wal-g")+" from PATH, mounted at /usr/local/bin/wal-g") {
		t.Errorf("stderr does not say the PATH's wal-g is mounted:\n%s", stderr)
	}
	assertDiverged(t, rep)
	assertNoDockerLeft(t, lab)
}
