package cluster

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// On Docker the data dir is the container's postgres user's: a command run
// there as postgres (a hook) replaces recovery.signal and postgresql.conf
// with links to a root-only host file. walstep's writes on the host are
// refused and the file is untouched; the plain edits work, on the host.
func TestDockerWriteFileRefusesLinks(t *testing.T) {
	img := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := newTestDocker(t, img)
	sdir := t.TempDir()
	sentinel := filepath.Join(sdir, "root-only")
	if err := os.WriteFile(sentinel, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := d.Init(ctx, Primary, &out); err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	plant := "ln -s '" + sentinel + "' /data/recovery.signal && mv /data/postgresql.conf /data/pg.keep && ln -s '" + sentinel + "' /data/postgresql.conf"
	execOut(ctx, t, d, Primary, "postgres", "sh", "-c", plant)
	for _, f := range []ServerFile{
		{Area: AreaData, Name: "recovery.signal", Mode: CreateFile},
		{Area: AreaData, Name: "postgresql.conf", Mode: AppendFile, Data: []byte("archive_mode = on\n")},
		{Area: AreaData, Name: "postgresql.conf", Mode: ReplaceFile, Data: []byte("x\n")},
	} {
		err := d.WriteFile(ctx, Primary, f)
		if b, _ := os.ReadFile(sentinel); string(b) != "secret\n" {
			t.Fatalf("%s %s wrote through the link: %q", f.verb(), f.Name, b)
		}
		if os.Geteuid() == 0 && (err == nil || !errors.Is(err, ErrLink)) {
			t.Errorf("%s %s through a link: %v, want a refusal", f.verb(), f.Name, err)
		}
	}
	execOut(ctx, t, d, Primary, "postgres", "sh", "-c", "rm /data/recovery.signal /data/postgresql.conf && mv /data/pg.keep /data/postgresql.conf")
	if err := d.WriteFile(ctx, Primary, ServerFile{Area: AreaData, Name: "recovery.signal", Mode: CreateFile}); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFile(ctx, Primary, ServerFile{Area: AreaData, Name: "postgresql.conf", Mode: AppendFile, Data: []byte("# walstep-was-here\n")}); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFile(ctx, Primary, ServerFile{Area: AreaConfig, Name: "replica_standby.conf", Mode: ReplaceFile, Data: []byte("primary_conninfo = 'password=x'\n")}); err != nil {
		t.Fatal(err)
	}
	got := execOut(ctx, t, d, Primary, "postgres", "sh", "-c", "stat -c '%U %a' /data/recovery.signal /custom-pg-configs/replica_standby.conf; tail -1 /data/postgresql.conf")
	if got != "postgres 600\npostgres 600\n# walstep-was-here" {
		t.Errorf("files made by WriteFile: %q", got)
	}
}

// The walk that hands a data dir to postgres changes links themselves and
// never follows one out of the tree.
func TestChownTreeNoFollow(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(root, "data")
	if err := os.MkdirAll(filepath.Join(tree, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(tree, "sub", "f"), nil, 0o600)
	_ = os.Symlink(outside, filepath.Join(tree, "link"))
	_ = os.Symlink(filepath.Dir(outside), filepath.Join(tree, "dirlink"))
	if err := chownTreeNoFollow(root, "data", 4242, 4242); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{tree, filepath.Join(tree, "sub", "f"), filepath.Join(tree, "link")} {
		st, _ := os.Lstat(p)
		if st.Sys().(*syscall.Stat_t).Uid != 4242 {
			t.Errorf("%s not handed over", p)
		}
	}
	st, _ := os.Stat(outside)
	if st.Sys().(*syscall.Stat_t).Uid == 4242 {
		t.Error("the walk followed a link out of the tree")
	}
}

// Without root on the host the data dir's edits run in a container as
// postgres and the config dir is written on the host, readable by the
// container; every mode lands.
func TestDockerWriteFileWithoutRoot(t *testing.T) {
	img := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := newTestDocker(t, img)
	var out bytes.Buffer
	if err := d.Init(ctx, Primary, &out); err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	was := hostIsRoot
	hostIsRoot = func() bool { return false }
	t.Cleanup(func() { hostIsRoot = was })
	for _, f := range []ServerFile{
		{Area: AreaData, Name: "postgresql.conf", Mode: AppendFile, Data: []byte("# appended-without-root\n")},
		{Area: AreaData, Name: "recovery.signal", Mode: CreateFile},
		{Area: AreaConfig, Name: ".walstep-hook.sql", Mode: ReplaceFile, Data: []byte(strings.Repeat("-- big\n", 300000) + "select 1;\n")},
	} {
		if err := d.WriteFile(ctx, Primary, f); err != nil {
			t.Fatalf("%s %s: %v", f.verb(), f.Name, err)
		}
	}
	got := execOut(ctx, t, d, Primary, "postgres", "sh", "-c", "tail -1 /data/postgresql.conf; stat -c '%U' /data/recovery.signal; tail -1 /custom-pg-configs/.walstep-hook.sql")
	if got != "# appended-without-root\npostgres\nselect 1;" {
		t.Errorf("files written without root: %q", got)
	}
}

// Without root on the host a file holding the lab's secret is handed to
// the server user by a root container. The config dir may be the server
// user's to write (a hook as root can chown it): a racer there swaps
// every walstep temporary file it sees for a link to another of the lab's
// files, and the target name is a link to a directory. The root container
// changes neither the link's target nor moves the file into that
// directory: the file lands under its own name, the server user's, 0600.
func TestDockerWithoutRootPrivateConfigFollowsNoLink(t *testing.T) {
	img := requireDocker(t)
	was := hostIsRoot
	hostIsRoot = func() bool { return false }
	t.Cleanup(func() { hostIsRoot = was })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := newTestDocker(t, img)
	uid, gid, err := d.postgresIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := d.configDir(Primary)
	if err := os.MkdirAll(filepath.Join(cfg, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(cfg, uid, gid); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(cfg, "victim.conf")
	if err := os.WriteFile(victim, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const name = "replica_standby.conf"
	if err := os.Symlink(filepath.Join(containerConfig, "sub"), filepath.Join(cfg, name)); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	raced := make(chan int)
	go func() {
		n := 0
		defer func() { raced <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ents, _ := os.ReadDir(cfg)
			for _, e := range ents {
				if !strings.HasPrefix(e.Name(), ".walstep-") || !e.Type().IsRegular() {
					continue
				}
				p := filepath.Join(cfg, e.Name())
				if os.Rename(p, filepath.Join(cfg, "stolen"+e.Name())) == nil && os.Symlink("victim.conf", p) == nil {
					n++
				}
			}
			time.Sleep(time.Millisecond) // the racer's pace, not a wait
		}
	}()
	data := []byte("primary_conninfo = 'password=s3cret'\n")
	for i := 0; i < 3; i++ {
		err = d.WriteFile(ctx, Primary, ServerFile{Area: AreaConfig, Name: name, Mode: ReplaceFile, Private: true, Data: data})
		if err != nil {
			break
		}
	}
	close(stop)
	swaps := <-raced
	t.Logf("racer swapped %d temporary files", swaps)
	if err != nil {
		t.Fatalf("write a private config file: %v", err)
	}
	st, err := os.Lstat(victim)
	if err != nil {
		t.Fatal(err)
	}
	if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 0 || st.Mode().Perm() != 0o644 {
		t.Errorf("the root container followed a swapped link: victim.conf now uid %d mode %v", sys.Uid, st.Mode().Perm())
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
		t.Errorf("victim.conf changed: %q", b)
	}
	st, err = os.Lstat(filepath.Join(cfg, name))
	if err != nil {
		t.Fatal(err)
	}
	if sys := st.Sys().(*syscall.Stat_t); !st.Mode().IsRegular() || int(sys.Uid) != uid || st.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v uid %d, want a regular file of the server user's (%d), 0600", name, st.Mode(), sys.Uid, uid)
	}
	if b, _ := os.ReadFile(filepath.Join(cfg, name)); !bytes.Equal(b, data) {
		t.Errorf("%s holds %q", name, b)
	}
	if ents, _ := os.ReadDir(filepath.Join(cfg, "sub")); len(ents) != 0 {
		t.Errorf("moved into the directory a link named: %v", ents)
	}
}
