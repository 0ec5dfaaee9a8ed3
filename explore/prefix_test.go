package explore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"walstep/cluster"
	"walstep/steps"
)

// A verified prefix is cloned into a run's lab with what the server user
// planted in its data and config dirs neither followed nor read: a link
// to a root-only file and a FIFO stay a link and a FIFO (the root-only
// bytes are nowhere in the run's lab), the clone does not block, the
// archive_command is rewritten in the copy's postgresql.conf and the
// config link made for the run's lab. A postgresql.conf the server user
// made a link is refused, naming it.
func TestClonePrefixFollowsNothingPlanted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the copy keeps the servers' owners: root only")
	}
	src, err := cluster.InitLab(filepath.Join(t.TempDir(), "prefix"))
	if err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "root-only")
	if err := os.WriteFile(secret, []byte("ROOT-ONLY-BYTES\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{cluster.PrimaryData, cluster.PrimaryConfig} {
		if err := os.MkdirAll(src.Path(d), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(secret, src.Path(d, "planted.conf")); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(src.Path(d, "planted.fifo"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(src.Path(cluster.PrimaryData, "postgresql.conf"), []byte("archive_mode = on\narchive_command = 'cp %p /prefix/lab/%f'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(src.Path(cluster.PrimaryConfig), src.Path(cluster.PrimaryData, cluster.ConfigLink)); err != nil {
		t.Fatal(err)
	}

	clone := func(t *testing.T) (*cluster.Lab, error) {
		lab, err := cluster.InitLab(filepath.Join(t.TempDir(), "run"))
		if err != nil {
			t.Fatal(err)
		}
		l, err := cluster.NewLocal(cluster.LocalOptions{Lab: lab, StopTimeout: 10 * time.Second})
		if err != nil {
			t.Skipf("NewLocal: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		env := &steps.Env{Lab: lab, Backend: l, Archiver: cluster.CP{}}
		return lab, clonePrefix(src)(ctx, env)
	}
	lab, err := clone(t)
	if err != nil {
		t.Fatalf("clone: %v", err)
	}
	for _, d := range []string{cluster.PrimaryData, cluster.PrimaryConfig} {
		if st, err := os.Lstat(lab.Path(d, "planted.conf")); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s/planted.conf: %v %v, want the link kept a link", d, st, err)
		}
		if st, err := os.Lstat(lab.Path(d, "planted.fifo")); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("%s/planted.fifo: %v %v, want a FIFO made anew", d, st, err)
		}
	}
	_ = filepath.WalkDir(lab.Dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), "ROOT-ONLY-BYTES") {
				t.Errorf("%s holds the root-only file's bytes", p)
			}
		}
		return nil
	})
	b, _ := os.ReadFile(lab.Path(cluster.PrimaryData, "postgresql.conf"))
	if strings.Contains(string(b), "/prefix/lab/") || !strings.Contains(string(b), lab.Path(cluster.StorageDir)) {
		t.Errorf("archive_command not relocated: %q", b)
	}
	if got, _ := os.Readlink(lab.Path(cluster.PrimaryData, cluster.ConfigLink)); got != lab.Path(cluster.PrimaryConfig) {
		t.Errorf("config link: %q, want the run lab's config dir", got)
	}

	conf := src.Path(cluster.PrimaryData, "postgresql.conf")
	if err := os.Rename(conf, conf+".keep"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, conf); err != nil {
		t.Fatal(err)
	}
	if _, err := clone(t); !errors.Is(err, cluster.ErrLink) || !strings.Contains(err.Error(), "postgresql.conf") {
		t.Errorf("clone with postgresql.conf a link: %v, want a refusal naming it", err)
	}
	if b, _ := os.ReadFile(secret); string(b) != "ROOT-ONLY-BYTES\n" {
		t.Errorf("wrote through the link: %q", b)
	}
}
