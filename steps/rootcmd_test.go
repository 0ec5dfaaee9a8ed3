package steps

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"walstep/cluster"
	"walstep/cluster/dockertest"
)

// The seed's own root command at 4a, chown -R of the WAL storage, as the
// playbook runs it through the backend, follows no link the server user
// planted in the storage it has owned since a first 4a: a link to a
// root-only file, a link to a root-only directory, and a directory that a
// racer swaps with a link to another root-only directory (RENAME_EXCHANGE,
// as fast as it can) while the walk runs. GNU chown -R defaults to -P:
// links are changed themselves (lchown), the one on the command line
// included, and the walk opens each directory without following a link
// and checks it is the one it stat'ed before it descends.
func TestSeedChownRFollowsNoPlantedLink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the servers' user exists only when walstep runs as root")
	}
	t.Run("local", func(t *testing.T) {
		pw, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("no postgres user")
		}
		uid, _ := strconv.Atoi(pw.Uid)
		gid, _ := strconv.Atoi(pw.Gid)
		lab, err := cluster.InitLab(filepath.Join(t.TempDir(), "lab"))
		if err != nil {
			t.Fatal(err)
		}
		chownRace(t, lab, labBackend(t, lab), uid, gid)
	})
	t.Run("docker", func(t *testing.T) {
		img := dockertest.Require(t, dockertest.Image(), "docker tests")
		lab, err := cluster.InitLab(filepath.Join(t.TempDir(), "lab"))
		if err != nil {
			t.Fatal(err)
		}
		d, err := cluster.NewDocker(cluster.DockerOptions{Lab: lab, InitImage: img, Image: img, Prefix: "wstest-chown-" + strconv.Itoa(os.Getpid()), StopTimeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for _, p := range lab.Generated() {
				_ = d.RemoveAll(ctx, p)
			}
			_ = d.Close(ctx, true)
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var out bytes.Buffer
		if err := d.Exec(ctx, cluster.Primary, "postgres", []string{"id", "-u"}, &out); err != nil {
			t.Fatalf("id: %v %s", err, out.String())
		}
		var uid int
		for _, l := range strings.Split(out.String(), "\n") {
			if n, err := strconv.Atoi(strings.TrimSpace(l)); err == nil {
				uid = n
			}
		}
		chownRace(t, lab, d, uid, uid)
	})
}

// chownRace runs the seed's 4a through b on a storage the server user
// (uid:gid) owns and holds links to root-only files in the node's config
// dir, which the server's environment sees (locally the host, on Docker
// the container's mount), while a directory is swapped with such a link.
func chownRace(t *testing.T, lab *cluster.Lab, b cluster.Backend, uid, gid int) {
	env := &Env{Lab: lab, Backend: b, Archiver: cluster.CP{}}
	var step *Step
	for _, s := range Playbook(env) {
		if s.ID == "4a" {
			step = &s
		}
	}
	if step == nil || len(step.Actions) == 0 || step.Actions[0] != "exec primary root chown -R ${owner} ${storage}" {
		t.Fatalf("the seed's 4a is not the chown -R this test is about: %+v", step)
	}
	host, seen := lab.Path(cluster.PrimaryConfig), b.Paths(cluster.Primary).ConfigDir
	if err := os.MkdirAll(host, 0o755); err != nil {
		t.Fatal(err)
	}
	rootOnly := filepath.Join(host, "root-only")
	_ = os.WriteFile(rootOnly, []byte("x"), 0o600)
	var rootDirs []string
	for _, d := range []string{"dir", "swapped"} {
		p := filepath.Join(host, d)
		_ = os.MkdirAll(filepath.Join(p, "sub"), 0o700)
		_ = os.WriteFile(filepath.Join(p, "sub", "f"), []byte("x"), 0o600)
		rootDirs = append(rootDirs, p, filepath.Join(p, "sub"), filepath.Join(p, "sub", "f"))
	}
	storage := lab.Path(cluster.StorageDir)
	for i := 0; i < 300; i++ { // a walk long enough to race
		d := filepath.Join(storage, "wal_005", fmt.Sprintf("d%03d", i))
		_ = os.MkdirAll(d, 0o755)
		_ = os.WriteFile(filepath.Join(d, "seg"), []byte("x"), 0o600)
	}
	_ = os.Symlink(seen+"/root-only", filepath.Join(storage, "wal_005", "link-to-file"))
	_ = os.Symlink(seen+"/dir", filepath.Join(storage, "wal_005", "link-to-dir"))
	swap := filepath.Join(storage, "wal_005", "d150")
	_ = os.Symlink(seen+"/swapped", swap+".x")
	if err := os.Chown(storage, uid, gid); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	swaps := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				swaps <- n
				return
			default:
			}
			if unix.Renameat2(unix.AT_FDCWD, swap, unix.AT_FDCWD, swap+".x", unix.RENAME_EXCHANGE) == nil {
				n++
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := 0; i < 5; i++ {
		var out bytes.Buffer
		if err := step.Run(ctx, &out); err != nil {
			// A swap mid-walk can make chown say it cannot enter a
			// directory that changed under it: a refusal, not a follow.
			t.Logf("run %d: %v\n%s", i, err, out.String())
		}
	}
	close(stop)
	t.Logf("racer swapped %d times", <-swaps)
	for _, p := range append(rootDirs, rootOnly) {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 0 {
			t.Errorf("%s is now uid %d: chown -R followed a link", p, st.Uid)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(filepath.Join(storage, "wal_005", "link-to-file"), &st); err != nil || int(st.Uid) != uid {
		t.Errorf("the planted link itself: uid %d (%v), want the server user's %d", st.Uid, err, uid)
	}
}
