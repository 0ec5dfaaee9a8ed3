package steps

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"walstep/cluster"
	"walstep/playbook"
)

// A wait that fails on recovery_target_action names the file that sets it
// and its value, read through the backend, whatever the playbook called
// the file (no seed conf name), and the files read when none sets a
// recovery target; hidden files, which include_dir skips, do not count.
func TestWaitMessagesNameTheFilesThereAre(t *testing.T) {
	lab, err := cluster.InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	b := labBackend(t, lab)
	dd, cfg := lab.Path(cluster.ReplicaData), lab.Path(cluster.ReplicaConfig)
	for _, d := range []string{dd, cfg} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, text string) {
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dd, "postgresql.conf"), "# Add settings for extensions here\ninclude_dir = '"+cluster.ConfigLink+"'\n")
	if err := os.Symlink(cfg, filepath.Join(dd, cluster.ConfigLink)); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(cfg, "my-recovery.conf"), "restore_command = 'cp x %p'\nrecovery_target_action = 'promote'  # mine\n")
	write(filepath.Join(cfg, ".walstep-hook.sql"), "recovery_target_action = 'pause'\nrecovery_target_lsn = '0/1'\n")
	ctx := context.Background()

	got := settingSays(ctx, b, cluster.Replica, "recovery_target_action", "pause")
	if want := "the replica's recovery_target_action is 'promote', set in " + filepath.Join(cfg, "my-recovery.conf"); got != want {
		t.Errorf("settingSays: %q, want %q", got, want)
	}
	none, read := noRecoveryTarget(ctx, b, cluster.Replica)
	if want := "postgresql.conf, " + filepath.Join(cfg, "my-recovery.conf") + ", postgresql.auto.conf"; !none || read != want {
		t.Errorf("noRecoveryTarget: %v %q, want true %q", none, read, want)
	}
	write(filepath.Join(dd, "postgresql.auto.conf"), "recovery_target_action = 'shutdown'\n")
	if got := settingSays(ctx, b, cluster.Replica, "recovery_target_action", "pause"); !strings.HasSuffix(got, "is 'shutdown', set in postgresql.auto.conf") {
		t.Errorf("postgresql.auto.conf comes last: %q", got)
	}
	if err := os.Remove(filepath.Join(cfg, "my-recovery.conf")); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(dd, "postgresql.auto.conf"))
	if got, want := settingSays(ctx, b, cluster.Replica, "recovery_target_action", "pause"), "none of the replica's config files sets recovery_target_action, so it is PostgreSQL's default 'pause'"; got != want {
		t.Errorf("none set: %q, want %q", got, want)
	}
	for _, seed := range []string{"_restore.conf", "_standby.conf", "step "} {
		if strings.Contains(got, seed) {
			t.Errorf("%q names %q", got, seed)
		}
	}
}

// A step removed from a playbook file since the pass began says where the
// next pass starts: the playbook's own reset step, by its ID.
func TestRemovedStepNamesThePlaybooksResetStep(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "testdata", "playbooks", "switch-wal.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(src), "## 0. Start from an empty lab", "## R. Start from an empty lab", 1)
	path := filepath.Join(t.TempDir(), "pb.md")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	doc, err := playbook.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	all := BindFile(&Env{}, doc, path)
	last := all[len(all)-1]
	i := strings.LastIndex(text, "\n## ")
	if err := os.WriteFile(path, []byte(text[:i+1]), 0o644); err != nil {
		t.Fatal(err)
	}
	last.Reload()
	err = last.Run(context.Background(), io.Discard)
	if err == nil || !strings.HasSuffix(err.Error(), "it leaves the checklist at the next pass (step R)") {
		t.Errorf("run of a removed step: %v, want the reset step R named", err)
	}
}
