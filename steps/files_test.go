package steps

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

	"walstep/cluster"
)

// sentinel is a file only its owner (root, in CI) may read or write: the
// target a hostile hook points a link at.
type sentinel struct {
	path string
	uid  uint32
	mode os.FileMode
}

func newSentinel(t *testing.T) sentinel {
	t.Helper()
	dir, err := os.MkdirTemp("", "walstep-sentinel-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := filepath.Join(dir, "root-only")
	if err := os.WriteFile(p, []byte("root's secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	return sentinel{path: p, uid: st.Sys().(*syscall.Stat_t).Uid, mode: st.Mode()}
}

// check fails the test when the sentinel was written, chowned or chmodded.
func (s sentinel) check(t *testing.T, after string) {
	t.Helper()
	b, err := os.ReadFile(s.path)
	if err != nil {
		t.Fatalf("after %s: %v", after, err)
	}
	st, _ := os.Stat(s.path)
	if string(b) != "root's secret\n" || st.Sys().(*syscall.Stat_t).Uid != s.uid || st.Mode() != s.mode {
		t.Fatalf("after %s the sentinel changed: %q uid %d mode %v", after, b, st.Sys().(*syscall.Stat_t).Uid, st.Mode())
	}
}

// runUpTo runs the playbook's steps from index from through the step id.
func runUpTo(ctx context.Context, t *testing.T, pb []Step, from int, id string) int {
	t.Helper()
	end := indexOf(t, pb, id)
	for i := from; i <= end; i++ {
		var out bytes.Buffer
		if err := pb[i].Run(ctx, &out); err != nil {
			t.Fatalf("step %s: %v\n%s", pb[i].ID, err, out.String())
		}
	}
	return end + 1
}

// attack runs a shell hook as the server user, then step id, which must
// fail on the planted link with a line that says so; then the hook's undo
// runs and the step passes.
func attack(ctx context.Context, t *testing.T, env *Env, pb []Step, node cluster.Node, id, hook, undo string, s sentinel) {
	t.Helper()
	var out bytes.Buffer
	h := Hook{Node: node, Kind: "sh", Path: "after-attack.sh"}
	if err := RunHook(ctx, env, h, hook, &out); err != nil {
		t.Fatalf("hook before %s: %v\n%s", id, err, out.String())
	}
	i := indexOf(t, pb, id)
	err := pb[i].Run(ctx, &out)
	s.check(t, "step "+id)
	if err == nil || !errors.Is(err, cluster.ErrLink) || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("step %s through a link: err %v, want a refusal naming the link\n%s", id, err, out.String())
	}
	t.Logf("step %s: %v", id, err)
	if err := RunHook(ctx, env, h, undo, &out); err != nil {
		t.Fatalf("undo before %s: %v\n%s", id, err, out.String())
	}
	if err := pb[i].Run(ctx, &out); err != nil {
		t.Fatalf("step %s after the link is gone: %v\n%s", id, err, out.String())
	}
}

// A hook runs as the server user, which owns the data and config dirs and
// the logs: each path walstep then writes as root is replaced by a link to
// a root-only file. Each write is refused and the file is untouched.
func TestRootWritesRefuseLinks(t *testing.T) {
	env := hookLab(t)
	s := newSentinel(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t.Cleanup(func() { _ = env.Backend.Close(context.Background(), true) })
	pb := Playbook(env)
	next := runUpTo(ctx, t, pb, 0, "7")
	_ = next
	S := s.path
	attack(ctx, t, env, pb, cluster.Primary, "8",
		`ln -s '`+S+`' primary-config/primary_restore.conf`, `rm primary-config/primary_restore.conf`, s)
	attack(ctx, t, env, pb, cluster.Primary, "9",
		`ln -s '`+S+`' "$PGDATA/recovery.signal"`, `rm "$PGDATA/recovery.signal"`, s)
	attack(ctx, t, env, pb, cluster.Primary, "10",
		`mv "$PGDATA/postgresql.conf" "$PGDATA/pg.keep" && ln -s '`+S+`' "$PGDATA/postgresql.conf"`,
		`rm "$PGDATA/postgresql.conf" && mv "$PGDATA/pg.keep" "$PGDATA/postgresql.conf"`, s)
	runUpTo(ctx, t, pb, indexOf(t, pb, "11"), "11")
	attack(ctx, t, env, pb, cluster.Replica, "12",
		`rm -f logs/replica.log && ln -s '`+S+`' logs/replica.log`, `rm logs/replica.log`, s)
}

// A conf's comments keep their placeholders; settings get the values.
func TestFillOutsideComments(t *testing.T) {
	r := strings.NewReplacer("${PRIMARY_HOST}", "127.0.0.1", "${PRIMARY_PORT}", "34915")
	in := "# ${PRIMARY_HOST} and ${PRIMARY_PORT} are filled in by walstep\n" +
		"primary_conninfo = 'host=${PRIMARY_HOST} port=${PRIMARY_PORT} password=a#b' # was ${PRIMARY_PORT}\n"
	want := "# ${PRIMARY_HOST} and ${PRIMARY_PORT} are filled in by walstep\n" +
		"primary_conninfo = 'host=127.0.0.1 port=34915 password=a#b' # was ${PRIMARY_PORT}\n"
	if got := fillOutsideComments(in, r.Replace); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
