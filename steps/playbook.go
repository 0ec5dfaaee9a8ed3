package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"walstep/cluster"
)

// Timeouts bound the steps that wait for a server.
type Timeouts struct {
	Ready    time.Duration // a server accepts connections or exits
	Promote  time.Duration // the restored primary leaves recovery
	Shutdown time.Duration // a server shuts down at its recovery target
	Outcome  time.Duration // the streaming replica shows its outcome
	Hook     time.Duration // a hook runs; 0 means DefaultHookTimeout
}

// DefaultTimeouts are generous: a slow machine must not fail a step.
var DefaultTimeouts = Timeouts{Ready: 60 * time.Second, Promote: 60 * time.Second, Shutdown: 60 * time.Second, Outcome: 30 * time.Second}

// Env is what the playbook's actions run against.
type Env struct {
	Lab      *cluster.Lab
	Backend  cluster.Backend
	Archiver cluster.Archiver
	Timeouts Timeouts

	mu         sync.Mutex
	backupName string
	madeDir    map[string]bool // step ID: its last run found the data dir absent or empty
	// laterHooks names, per playbook step, the hooks that run after it
	// (after it or after any later step): what may still move a state on
	// that no playbook step resolves, such as a paused primary.
	laterHooks map[string][]string
}

// LaterHooks lists the hooks that run after step id, in run order.
func (e *Env) LaterHooks(id string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.laterHooks[id]
}

// BackupName is the backup found at step 6 (the seed's $BACKUP_NAME).
func (e *Env) BackupName() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.backupName
}

func (e *Env) remover(ctx context.Context) func(string) error {
	return func(p string) error { return e.Backend.RemoveAll(ctx, p) }
}

// Playbook returns the seed's steps bound to env: a preparation step, the
// thirteen numbered steps (4 with sub-steps 4a-4f; the seed numbers two
// steps 6, here 6 and 6b), the five follow-up steps F1-F5 and F6, which
// starts the replica as a streaming standby so the outcome shows.
func Playbook(env *Env) []Step {
	if env.Timeouts == (Timeouts{}) {
		env.Timeouts = DefaultTimeouts
	}
	var all []Step
	for _, part := range []func(*Env) []Step{prepareSteps, backupSteps, restoreSteps, followUpSteps} {
		all = append(all, part(env)...)
	}
	return all
}

// prepareSteps is step 0: the lab back to its editable files.
func prepareSteps(env *Env) []Step {
	b, lab, arc := env.Backend, env.Lab, env.Archiver
	return []Step{
		{ID: "0", Seed: "-", Title: "Prepare the lab", Resets: true,
			Command: "rm -rf primary-data replica-data wal-g-storage primary-config replica-config  # walstep: only inside the lab",
			Watch:   "the lab holds only its editable files again; leftovers of an earlier run are stopped",
			Run: func(ctx context.Context, out io.Writer) error {
				for _, n := range cluster.StopOrder {
					if err := b.Stop(ctx, n, out); err != nil {
						return fmt.Errorf("stop leftover %s: %w", n, err)
					}
				}
				if err := lab.Reset(env.remover(ctx)); err != nil {
					return err
				}
				fmt.Fprintf(out, "reset %s (kept the conf files, wal-g.json and hooks)\n", lab.Dir)
				for _, d := range []string{cluster.PrimaryConfig, cluster.ReplicaConfig, cluster.LogsDir, cluster.RunDir} {
					if err := lab.MkdirAll(lab.Path(d), 0o755, -1, -1); err != nil {
						return err
					}
				}
				if err := arc.Prepare(lab, b); err != nil {
					return err
				}
				fmt.Fprintf(out, "backend %s, archiver %s\n", b.Name(), arc.Name())
				return nil
			}},
	}
}

// backupSteps are seed steps 1-4f: the primary, its data and its backup.
func backupSteps(env *Env) []Step {
	b, arc := env.Backend, env.Archiver
	P := cluster.Primary
	return []Step{
		{ID: "1", Seed: "1", Title: "Initialise the primary's data dir",
			Command: `docker run --rm -v $(pwd)/primary-data:/data postgres:14.5 /bin/bash -c "chown -R postgres:postgres /data; su postgres -c \"initdb -D /data --username=postgres\";"`,
			Watch:   "primary-data/ now holds a fresh cluster on timeline 1",
			Run: func(ctx context.Context, out io.Writer) error {
				env.noteDataDir("1", P)
				return b.Init(ctx, P, out)
			},
			Undo: func(ctx context.Context, out io.Writer) error {
				return removeDataDir(ctx, env, "1", P, out)
			}},
		{ID: "2", Seed: "2", Title: "Turn on archiving in the primary's postgresql.conf",
			Command: `sudo sh -c "echo \"include_dir = '/custom-pg-configs'\" >> ./primary-data/postgresql.conf"
sudo sh -c "echo \"archive_mode = on\" >> ./primary-data/postgresql.conf"
sudo sh -c "echo \"archive_command = '/usr/local/bin/wal-g --config /wal-g.json wal-push %p'\" >> ./primary-data/postgresql.conf"`,
			Watch: "the three lines at the end of primary-data/postgresql.conf",
			Hint:  "press i to inspect",
			Run: func(ctx context.Context, out io.Writer) error {
				p := b.Paths(P)
				return AppendLines(ctx, b, P, "postgresql.conf", out,
					"include_dir = "+ConfString(p.Config),
					"archive_mode = on",
					"archive_command = "+ConfString(arc.ArchiveCommand(p)))
			}},
		{ID: "3", Seed: "3", Title: "Start the primary",
			Command: "docker compose up -d primary",
			Watch:   "the primary comes up on timeline 1 and starts archiving",
			Run: func(ctx context.Context, out io.Writer) error {
				return startReady(ctx, env, P, out)
			}},
		{ID: "4", Seed: "4", Title: "Enter the primary's environment",
			Command: "docker exec -it primary /bin/bash",
			Watch:   "the sub-steps run each command for you",
			Hint:    "press x to open a real shell there",
			Run: func(ctx context.Context, out io.Writer) error {
				return b.Exec(ctx, P, "root", []string{"sh", "-c", "echo \"shell available in the primary's environment: $(uname -n)\""}, out)
			}},
		{ID: "4a", Seed: "4a", Parent: "4", Title: "Hand the WAL storage to postgres",
			Command: "chown -R postgres:postgres /wal-g-storage",
			Watch:   "the WAL storage belongs to postgres from here on; in the seed archive_command may fail before this step, and the output says whether it did in this lab",
			Run: func(ctx context.Context, out io.Writer) error {
				p := b.Paths(P)
				if err := b.Exec(ctx, P, "root", []string{"chown", "-R", p.Owner, p.Storage}, out); err != nil {
					return err
				}
				reportArchiveFailures(ctx, b, P, out)
				return nil
			}},
		{ID: "4b", Seed: "4b", Parent: "4", Title: "Switch to the postgres user",
			Command: "su - postgres",
			Watch:   "the commands that follow run as postgres",
			Run: func(ctx context.Context, out io.Writer) error {
				return b.Exec(ctx, P, "postgres", []string{"id"}, out)
			}},
		{ID: "4c", Seed: "4c", Parent: "4", Title: "Grant replication, set a password, insert test data",
			Command: `psql -c "alter user postgres replication;"
psql -c "alter user postgres encrypted password 'postgres';"
psql -c "create table test (value text primary key);"
psql -c "insert into test values ('test1');"`,
			Watch: "a little WAL on timeline 1 beyond initdb's",
			Run: func(ctx context.Context, out io.Writer) error {
				for _, sql := range []string{
					"alter user postgres replication;",
					"alter user postgres encrypted password 'postgres';",
					"create table test (value text primary key);",
					"insert into test values ('test1');",
				} {
					if err := labPSQL(ctx, env, P, sql, out); err != nil {
						return err
					}
				}
				return nil
			}},
		{ID: "4d", Seed: "4d", Parent: "4", Title: "Take the base backup",
			Command: "wal-g --config /wal-g.json backup-push /data",
			Watch:   "wal-g-storage/basebackups_005 gains base_000000010000000000000002; segment 2 of timeline 1 gets archived once full or switched",
			Run: func(ctx context.Context, out io.Writer) error {
				if err := arc.BackupPush(ctx, b, P, out); err != nil {
					return err
				}
				if c := b.Paths(P).Config; !filepath.IsAbs(c) {
					// Backup tools skip this link (pg_basebackup warns): say why that is fine.
					fmt.Fprintf(out, "note: %s in the data dir is a link, not a directory: a backup leaves it out (a warning may say it skips this special file), and each server gets its own link to its config dir when walstep starts it, as the seed mounts /custom-pg-configs per container\n", c)
				}
				return nil
			}},
		{ID: "4e", Seed: "4e", Parent: "4", Title: "Leave the container",
			Command: "exit  # to the root shell\nexit  # to your shell",
			Watch:   "nothing changes: walstep runs every command in its own exec",
			Run: func(ctx context.Context, out io.Writer) error {
				fmt.Fprintln(out, "nothing to do: each command ran in its own session")
				return nil
			}},
		{ID: "4f", Seed: "4f", Parent: "4", Title: "Stop the primary and remove its container",
			Command: "docker compose stop primary\ndocker compose down",
			Watch:   "the primary shuts down cleanly; the segment holding its shutdown checkpoint is not full, so it is not archived",
			Hint:    "press a to list the archive",
			Run: func(ctx context.Context, out io.Writer) error {
				if err := b.Stop(ctx, P, out); err != nil {
					return err
				}
				_, err := cluster.WaitExited(ctx, b, P, env.Timeouts.Shutdown)
				return err
			}},
	}
}

// restoreSteps are seed steps 5-13: both servers restored from the backup
// at once, the bug's moment.
func restoreSteps(env *Env) []Step {
	b, lab, arc := env.Backend, env.Lab, env.Archiver
	P, R := cluster.Primary, cluster.Replica
	return []Step{
		{ID: "5", Seed: "5", Title: "Remove the primary's data dir",
			Command: "sudo rm -rf ./primary-data",
			Watch:   "only the backup and the archive remain",
			Run: func(ctx context.Context, out io.Writer) error {
				p := lab.Path(cluster.PrimaryData)
				if err := lab.Remove(env.remover(ctx), p); err != nil {
					return err
				}
				fmt.Fprintf(out, "removed %s\n", p)
				return nil
			}},
		{ID: "6", Seed: "6", Title: "Find the backup name",
			Command: "sudo ls ./wal-g-storage/basebackups_005\nexport BACKUP_NAME=\"base_000000010000000000000002\"",
			Watch:   "the backup is named after its start segment: base_000000010000000000000002",
			Run: func(ctx context.Context, out io.Writer) error {
				names, err := arc.ListBackups(ctx, b, P, lab, out)
				if err != nil {
					return err
				}
				if len(names) == 0 {
					return errors.New("find backup: the storage holds no backup (did step 4d run?)")
				}
				env.mu.Lock()
				env.backupName = names[len(names)-1]
				env.mu.Unlock()
				fmt.Fprintf(out, "BACKUP_NAME=%s\n", names[len(names)-1])
				return nil
			}},
		{ID: "6b", Seed: "6", Title: "Fetch the backup as the primary",
			Command: "docker run --rm -v $(pwd)/primary-data:/data -v $(pwd)/wal-g.json:/wal-g.json -v $(pwd)/wal-g-storage:/wal-g-storage postgres_repro:latest wal-g --config /wal-g.json backup-fetch /data ${BACKUP_NAME}",
			Watch:   "primary-data/ holds the backup (backup_label, empty pg_wal)",
			Run: func(ctx context.Context, out io.Writer) error {
				env.noteDataDir("6b", P)
				return fetch(ctx, env, P, out)
			},
			Undo: func(ctx context.Context, out io.Writer) error {
				return removeDataDir(ctx, env, "6b", P, out)
			}},
		{ID: "7", Seed: "7", Title: "Fetch the backup as the replica",
			Command: "docker run --rm -v $(pwd)/replica-data:/data -v $(pwd)/wal-g.json:/wal-g.json -v $(pwd)/wal-g-storage:/wal-g-storage postgres_repro:latest wal-g --config /wal-g.json backup-fetch /data ${BACKUP_NAME}",
			Watch:   "both data dirs now hold the same backup",
			Run: func(ctx context.Context, out io.Writer) error {
				env.noteDataDir("7", R)
				return fetch(ctx, env, R, out)
			},
			Undo: func(ctx context.Context, out io.Writer) error {
				return removeDataDir(ctx, env, "7", R, out)
			}},
		{ID: "8", Seed: "8", Title: "Put the restore configs in place",
			Command: "sudo cp ./primary_restore.conf ./primary-config/primary_restore.conf\nmkdir -p ./replica-config\ncp ./replica_restore.conf ./replica-config/replica_restore.conf",
			Watch:   "primary_restore.conf decides whether the primary forks a new timeline at the consistency point",
			Run: func(ctx context.Context, out io.Writer) error {
				if err := CopyConf(ctx, env, P, cluster.PrimaryRestore, out); err != nil {
					return err
				}
				return CopyConf(ctx, env, R, cluster.ReplicaRestore, out)
			}},
		{ID: "9", Seed: "9", Title: "Create the recovery and standby signals",
			Command: "sudo touch ./primary-data/recovery.signal\nsudo touch ./replica-data/standby.signal",
			Watch:   "the primary will do archive recovery and promote; the replica will be a standby",
			Run: func(ctx context.Context, out io.Writer) error {
				if err := Touch(ctx, b, P, "recovery.signal", out); err != nil {
					return err
				}
				return Touch(ctx, b, R, "standby.signal", out)
			}},
		{ID: "10", Seed: "10", Title: "Add restore_command to both configs",
			Command: `sudo sh -c "echo \"restore_command = '/usr/local/bin/wal-g --config /wal-g.json wal-fetch %f %p'\" >> ./primary-data/postgresql.conf"
sudo sh -c "echo \"restore_command = '/usr/local/bin/wal-g --config /wal-g.json wal-fetch %f %p'\" >> ./replica-data/postgresql.conf"`,
			Watch: "both servers will read WAL from the same archive",
			Run: func(ctx context.Context, out io.Writer) error {
				for _, n := range cluster.Nodes {
					p := b.Paths(n)
					if err := AppendLines(ctx, b, n, "postgresql.conf", out, "restore_command = "+ConfString(arc.RestoreCommand(p))); err != nil {
						return err
					}
				}
				return nil
			}},
		{ID: "11", Seed: "11", Title: "Allow replication from the replica",
			Command: `sudo sh -c "echo \"host all all 0.0.0.0/0 scram-sha-256\nhost replication all 0.0.0.0/0 scram-sha-256\" >> ./primary-data/pg_hba.conf"`,
			Watch:   "the replica may connect for replication with the password",
			Run: func(ctx context.Context, out io.Writer) error {
				return AppendLines(ctx, b, P, "pg_hba.conf", out,
					"host all all 0.0.0.0/0 scram-sha-256", "host replication all 0.0.0.0/0 scram-sha-256")
			}},
		{ID: "12", Seed: "12", Title: "Start both servers at once",
			Command: "docker compose up -d",
			Watch:   "the primary promotes onto timeline 2, forking at the consistency point (0/2000100 by default); compare the replica's replay position with that fork point",
			Run: func(ctx context.Context, out io.Writer) error {
				return startBoth(ctx, env, out)
			}},
		{ID: "13", Seed: "13", Title: "Create the replication slot on the primary",
			Command: `docker exec -it --user "postgres" primary /bin/bash -c "psql -c \"select pg_create_physical_replication_slot('replica');\""`,
			Watch:   "slot 'replica' exists on the primary, inactive until the replica streams",
			Run: func(ctx context.Context, out io.Writer) error {
				return PSQL(ctx, b, P, "select pg_create_physical_replication_slot('replica');", out)
			}},
	}
}

// followUpSteps are F1-F6: the replica switched to streaming, where the
// divergence shows.
func followUpSteps(env *Env) []Step {
	b, lab := env.Backend, env.Lab
	P, R := cluster.Primary, cluster.Replica
	return []Step{
		{ID: "F1", Seed: "F1", Title: "Start the primary (detached)",
			Command: "dc up -d primary",
			Watch:   "the primary keeps running on timeline 2",
			Run: func(ctx context.Context, out io.Writer) error {
				return startReady(ctx, env, P, out)
			}},
		{ID: "F2", Seed: "F2", Title: "Start the replica; it shuts down at its recovery target",
			Command: "dc up replica",
			Watch:   "the replica replays the archive to its target and shuts down; note how far it got",
			Run: func(ctx context.Context, out io.Writer) error {
				return startReplicaToTarget(ctx, env, out)
			}},
		{ID: "F3", Seed: "F3", Title: "Remove replica_restore.conf",
			Command: "rm ./replica-config/replica_restore.conf",
			Watch:   "the replica loses its recovery target",
			Run: func(ctx context.Context, out io.Writer) error {
				p := lab.Path(cluster.ReplicaConfig, cluster.ReplicaRestore)
				if err := lab.Remove(nil, p); err != nil {
					return err
				}
				fmt.Fprintf(out, "removed %s\n", p)
				return nil
			}},
		{ID: "F4", Seed: "F4", Title: "Add replica_standby.conf",
			Command: "cp ./replica_standby.conf ./replica-config/replica_standby.conf",
			Watch:   "primary_conninfo and primary_slot_name point the replica at the primary",
			Run: func(ctx context.Context, out io.Writer) error {
				return CopyConf(ctx, env, R, cluster.ReplicaStandby, out)
			}},
		{ID: "F5", Seed: "F5", Title: "Recreate standby.signal for the replica",
			Command: "touch ./replica-data/standby.signal",
			Watch:   "the next start is a streaming standby",
			Run: func(ctx context.Context, out io.Writer) error {
				return Touch(ctx, b, R, "standby.signal", out)
			}},
		{ID: "F6", Seed: "-", Title: "Start the replica as a streaming standby",
			Command: "dc up -d replica",
			Watch:   "the outcome: the replica streams on timeline 2, or its wal receiver is refused (requested starting point … is ahead of the WAL flush position)",
			Run: func(ctx context.Context, out io.Writer) error {
				return startStandby(ctx, env, out)
			}},
	}
}
