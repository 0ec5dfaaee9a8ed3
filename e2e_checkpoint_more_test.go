package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"walstep/cluster"
	"walstep/headless"
)

// A full disk where the checkpoint is copied fails the copy in one line,
// removes what it copied, and the run goes on to its verdict.
func testCheckpointFullDisk(t *testing.T, backend string) {
	lab, flags, _ := checkpointLab(t, backend)
	dir := filepath.Join(lab, cluster.CheckpointsDir)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8M,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	var out, errb bytes.Buffer
	code := realMain(append([]string{"run", "--json", "--from", "12", "--repeat", "2"}, flags...), &out, &errb)
	var rr headless.RepeatReport
	if err := json.Unmarshal(out.Bytes(), &rr); err != nil {
		t.Fatalf("exit %d, decode: %v\n%s\n%s", code, err, out.String(), errb.String())
	}
	if code != 0 || rr.Verdicts["diverged"] != 2 {
		t.Fatalf("exit %d, verdicts %v: the lab did not stay usable\n%s", code, rr.Verdicts, errb.String())
	}
	var lines []string
	for _, l := range strings.Split(errb.String(), "\n") {
		if strings.Contains(l, "no checkpoint kept") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 || !strings.Contains(lines[0], "No space left on device") {
		t.Errorf("want one line per run naming the full disk, got %q", lines)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("the failed copies left %d entries in checkpoints/", len(ents))
	}
}

func TestE2ELocalCheckpointFullDisk(t *testing.T) {
	t.Parallel()
	testCheckpointFullDisk(t, "local")
}

func TestE2EDockerCheckpointFullDisk(t *testing.T) {
	t.Parallel()
	testCheckpointFullDisk(t, "docker")
}

// Checkpoints on Docker without root on this host: walstep, an ordinary
// user in the Docker socket's group, cannot read or hand out the servers'
// files, so the backend copies them in a root container. run --from 12
// keeps a checkpoint, restores it, and the race comes out as before;
// clean removes it. Before, the copy refused ("needs root on this host")
// and every run ran every step.
func TestE2EDockerWithoutRootCheckpoints(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	if os.Geteuid() != 0 {
		t.Skip("runs walstep as another user, which takes root")
	}
	asUser, dir := ordinaryDockerUser(t)
	lab := filepath.Join(dir, "lab")
	prefix := "wse2eck-" + randSuffix()
	images := []string{"--image", img, "--init-image", img, "--prefix", prefix}
	if _, stderr, err := asUser("init", lab); err != nil {
		t.Fatalf("init: %v\n%s", err, stderr)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(lab, cluster.CheckpointsDir)); err != nil {
			return
		}
		if _, stderr, err := asUser(append([]string{"clean", "--lab", lab}, images...)...); err != nil {
			t.Errorf("walstep clean: %v\n%s", err, stderr)
		}
	})
	args := append([]string{"run", "--json", "--from", "12", "--repeat", "2", "--lab", lab, "--backend", "docker", "--archiver", "cp"}, images...)
	stdout, stderr, err := asUser(args...)
	var rr headless.RepeatReport
	if jerr := json.Unmarshal([]byte(stdout), &rr); jerr != nil || err != nil {
		t.Fatalf("run as an ordinary user: %v, decode: %v\n%s\n%s", err, jerr, stdout, stderr)
	}
	if rr.Verdicts["diverged"] != 2 {
		t.Errorf("verdicts %v, want diverged 2/2\n%s", rr.Verdicts, stderr)
	}
	for _, want := range []string{"checkpoint kept before step 12", "restored the checkpoint before step 12", "copied whole by the backend"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("progress does not say %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "no checkpoint kept") {
		t.Errorf("a checkpoint was not kept:\n%s", stderr)
	}
	if _, stderr, err := asUser(append([]string{"clean", "--lab", lab}, images...)...); err != nil {
		t.Fatalf("clean: %v\n%s", err, stderr)
	}
	if _, err := os.Lstat(filepath.Join(lab, cluster.CheckpointsDir)); err == nil {
		t.Error("clean left checkpoints/")
	}
	assertNoDockerLeft(t, lab)
}

func randSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ordinaryDockerUser runs the walstep binary as uid 23456 in the Docker
// socket's group, in a dir of its own, which it returns.
func ordinaryDockerUser(t *testing.T) (func(args ...string) (string, string, error), string) {
	t.Helper()
	sock := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		if !strings.HasPrefix(h, "unix://") {
			t.Skipf("DOCKER_HOST %s is not a unix socket whose group the user could join", h)
		}
		sock = strings.TrimPrefix(h, "unix://")
	}
	st, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	gid := st.Sys().(*syscall.Stat_t).Gid
	const uid = 23456
	bin := buildWalstep(t)
	dir := reachableTempDir(t)
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
	return func(args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir, cmd.Env = dir, []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
		if h := os.Getenv("DOCKER_HOST"); h != "" {
			cmd.Env = append(cmd.Env, "DOCKER_HOST="+h)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{gid}}}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}, dir
}

// A full disk while the root container copies a checkpoint (Docker
// without root on this host): one line per run naming it, nothing left of
// the copy, and the lab stays usable: every run reaches its verdict.
func TestE2EDockerWithoutRootCheckpointFullDisk(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	if os.Geteuid() != 0 {
		t.Skip("runs walstep as another user and mounts a tmpfs, which take root")
	}
	asUser, dir := ordinaryDockerUser(t)
	lab := filepath.Join(dir, "lab")
	images := []string{"--image", img, "--init-image", img, "--prefix", "wse2eckf-" + randSuffix()}
	if _, stderr, err := asUser("init", lab); err != nil {
		t.Fatalf("init: %v\n%s", err, stderr)
	}
	t.Cleanup(func() {
		if _, stderr, err := asUser(append([]string{"clean", "--lab", lab}, images...)...); err != nil {
			t.Errorf("walstep clean: %v\n%s", err, stderr)
		}
	})
	ck := filepath.Join(lab, cluster.CheckpointsDir)
	if err := os.Mkdir(ck, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8M,mode=0700,uid=23456,gid=23456", "tmpfs", ck).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", ck).Run() })
	args := append([]string{"run", "--json", "--from", "12", "--repeat", "2", "--lab", lab, "--backend", "docker", "--archiver", "cp"}, images...)
	stdout, stderr, err := asUser(args...)
	var rr headless.RepeatReport
	if jerr := json.Unmarshal([]byte(stdout), &rr); jerr != nil || err != nil || rr.Verdicts["diverged"] != 2 {
		t.Fatalf("run: %v, decode: %v, verdicts %v: the lab did not stay usable\n%s", err, jerr, rr.Verdicts, stderr)
	}
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "no checkpoint kept") {
			lines = append(lines, l)
		}
	}
	if len(lines) > 0 {
		t.Log(lines[0])
	}
	if len(lines) != 2 || !strings.Contains(lines[0], "No space left on device") || !strings.Contains(lines[0], "root container") {
		t.Errorf("want one line per run naming the full disk in the root container's copy, got %q", lines)
	}
	if ents, _ := os.ReadDir(ck); len(ents) != 0 {
		t.Errorf("the failed copies left %d entries in checkpoints/", len(ents))
	}
}
