package steps

import (
	"testing"

	"walstep/cluster"
)

// seedTable is the seed's playbook as walstep's Go table held it before
// the playbook became a document: the document must give the same steps.
var seedTable = []struct {
	ID, Seed, Parent, Title, Command, Watch, Hint string
	Resets, Undo                                  bool
}{
	{ID: "0", Seed: "-", Title: "Prepare the lab",
		Command: "rm -rf primary-data replica-data wal-g-storage primary-config replica-config  # walstep: only inside the lab",
		Watch:   "the lab holds only its editable files again; leftovers of an earlier run are stopped", Resets: true, Undo: false},
	{ID: "1", Seed: "1", Title: "Initialise the primary's data dir",
		Command: "docker run --rm -v $(pwd)/primary-data:/data postgres:14.5 /bin/bash -c \"chown -R postgres:postgres /data; su postgres -c \\\"initdb -D /data --username=postgres\\\";\"",
		Watch:   "primary-data/ now holds a fresh cluster on timeline 1", Resets: false, Undo: true},
	{ID: "2", Seed: "2", Title: "Turn on archiving in the primary's postgresql.conf",
		Command: "sudo sh -c \"echo \\\"include_dir = '/custom-pg-configs'\\\" >> ./primary-data/postgresql.conf\"\nsudo sh -c \"echo \\\"archive_mode = on\\\" >> ./primary-data/postgresql.conf\"\nsudo sh -c \"echo \\\"archive_command = '/usr/local/bin/wal-g --config /wal-g.json wal-push %p'\\\" >> ./primary-data/postgresql.conf\"",
		Watch:   "the three lines at the end of primary-data/postgresql.conf", Hint: "press i to inspect", Resets: false, Undo: false},
	{ID: "3", Seed: "3", Title: "Start the primary",
		Command: "docker compose up -d primary",
		Watch:   "the primary comes up on timeline 1 and starts archiving", Resets: false, Undo: false},
	{ID: "4", Seed: "4", Title: "Enter the primary's environment",
		Command: "docker exec -it primary /bin/bash",
		Watch:   "the sub-steps run each command for you", Hint: "press x to open a real shell there", Resets: false, Undo: false},
	{ID: "4a", Seed: "4a", Parent: "4", Title: "Hand the WAL storage to postgres",
		Command: "chown -R postgres:postgres /wal-g-storage",
		Watch:   "the WAL storage belongs to postgres from here on; in the seed archive_command may fail before this step, and the output says whether it did in this lab", Resets: false, Undo: false},
	{ID: "4b", Seed: "4b", Parent: "4", Title: "Switch to the postgres user",
		Command: "su - postgres",
		Watch:   "the commands that follow run as postgres", Resets: false, Undo: false},
	{ID: "4c", Seed: "4c", Parent: "4", Title: "Grant replication, set a password, insert test data",
		Command: "psql -c \"alter user postgres replication;\"\npsql -c \"alter user postgres encrypted password 'postgres';\"\npsql -c \"create table test (value text primary key);\"\npsql -c \"insert into test values ('test1');\"",
		Watch:   "a little WAL on timeline 1 beyond initdb's", Resets: false, Undo: false},
	{ID: "4d", Seed: "4d", Parent: "4", Title: "Take the base backup",
		Command: "wal-g --config /wal-g.json backup-push /data",
		Watch:   "wal-g-storage/basebackups_005 gains base_000000010000000000000002; segment 2 of timeline 1 gets archived once full or switched", Resets: false, Undo: false},
	{ID: "4e", Seed: "4e", Parent: "4", Title: "Leave the container",
		Command: "exit  # to the root shell\nexit  # to your shell",
		Watch:   "nothing changes: walstep runs every command in its own exec", Resets: false, Undo: false},
	{ID: "4f", Seed: "4f", Parent: "4", Title: "Stop the primary and remove its container",
		Command: "docker compose stop primary\ndocker compose down",
		Watch:   "the primary shuts down cleanly; the segment holding its shutdown checkpoint is not full, so it is not archived", Hint: "press a to list the archive", Resets: false, Undo: false},
	{ID: "5", Seed: "5", Title: "Remove the primary's data dir",
		Command: "sudo rm -rf ./primary-data",
		Watch:   "only the backup and the archive remain", Resets: false, Undo: false},
	{ID: "6", Seed: "6", Title: "Find the backup name",
		Command: "sudo ls ./wal-g-storage/basebackups_005\nexport BACKUP_NAME=\"base_000000010000000000000002\"",
		Watch:   "the backup is named after its start segment: base_000000010000000000000002", Resets: false, Undo: false},
	{ID: "6b", Seed: "6", Title: "Fetch the backup as the primary",
		Command: "docker run --rm -v $(pwd)/primary-data:/data -v $(pwd)/wal-g.json:/wal-g.json -v $(pwd)/wal-g-storage:/wal-g-storage postgres_repro:latest wal-g --config /wal-g.json backup-fetch /data ${BACKUP_NAME}",
		Watch:   "primary-data/ holds the backup (backup_label, empty pg_wal)", Resets: false, Undo: true},
	{ID: "7", Seed: "7", Title: "Fetch the backup as the replica",
		Command: "docker run --rm -v $(pwd)/replica-data:/data -v $(pwd)/wal-g.json:/wal-g.json -v $(pwd)/wal-g-storage:/wal-g-storage postgres_repro:latest wal-g --config /wal-g.json backup-fetch /data ${BACKUP_NAME}",
		Watch:   "both data dirs now hold the same backup", Resets: false, Undo: true},
	{ID: "8", Seed: "8", Title: "Put the restore configs in place",
		Command: "sudo cp ./primary_restore.conf ./primary-config/primary_restore.conf\nmkdir -p ./replica-config\ncp ./replica_restore.conf ./replica-config/replica_restore.conf",
		Watch:   "primary_restore.conf decides whether the primary forks a new timeline at the consistency point", Resets: false, Undo: false},
	{ID: "9", Seed: "9", Title: "Create the recovery and standby signals",
		Command: "sudo touch ./primary-data/recovery.signal\nsudo touch ./replica-data/standby.signal",
		Watch:   "the primary will do archive recovery and promote; the replica will be a standby", Resets: false, Undo: false},
	{ID: "10", Seed: "10", Title: "Add restore_command to both configs",
		Command: "sudo sh -c \"echo \\\"restore_command = '/usr/local/bin/wal-g --config /wal-g.json wal-fetch %f %p'\\\" >> ./primary-data/postgresql.conf\"\nsudo sh -c \"echo \\\"restore_command = '/usr/local/bin/wal-g --config /wal-g.json wal-fetch %f %p'\\\" >> ./replica-data/postgresql.conf\"",
		Watch:   "both servers will read WAL from the same archive", Resets: false, Undo: false},
	{ID: "11", Seed: "11", Title: "Allow replication from the replica",
		Command: "sudo sh -c \"echo \\\"host all all 0.0.0.0/0 scram-sha-256\\nhost replication all 0.0.0.0/0 scram-sha-256\\\" >> ./primary-data/pg_hba.conf\"",
		Watch:   "the replica may connect for replication with the password", Resets: false, Undo: false},
	{ID: "12", Seed: "12", Title: "Start both servers at once",
		Command: "docker compose up -d",
		Watch:   "the primary promotes onto timeline 2, forking at the consistency point (0/2000100 by default); compare the replica's replay position with that fork point", Resets: false, Undo: false},
	{ID: "13", Seed: "13", Title: "Create the replication slot on the primary",
		Command: "docker exec -it --user \"postgres\" primary /bin/bash -c \"psql -c \\\"select pg_create_physical_replication_slot('replica');\\\"\"",
		Watch:   "slot 'replica' exists on the primary, inactive until the replica streams", Resets: false, Undo: false},
	{ID: "F1", Seed: "F1", Title: "Start the primary (detached)",
		Command: "dc up -d primary",
		Watch:   "the primary keeps running on timeline 2", Resets: false, Undo: false},
	{ID: "F2", Seed: "F2", Title: "Start the replica; it shuts down at its recovery target",
		Command: "dc up replica",
		Watch:   "the replica replays the archive to its target and shuts down; note how far it got", Resets: false, Undo: false},
	{ID: "F3", Seed: "F3", Title: "Remove replica_restore.conf",
		Command: "rm ./replica-config/replica_restore.conf",
		Watch:   "the replica loses its recovery target", Resets: false, Undo: false},
	{ID: "F4", Seed: "F4", Title: "Add replica_standby.conf",
		Command: "cp ./replica_standby.conf ./replica-config/replica_standby.conf",
		Watch:   "primary_conninfo and primary_slot_name point the replica at the primary", Resets: false, Undo: false},
	{ID: "F5", Seed: "F5", Title: "Recreate standby.signal for the replica",
		Command: "touch ./replica-data/standby.signal",
		Watch:   "the next start is a streaming standby", Resets: false, Undo: false},
	{ID: "F6", Seed: "-", Title: "Start the replica as a streaming standby",
		Command: "dc up -d replica",
		Watch:   "the outcome: the replica streams on timeline 2, or its wal receiver is refused (requested starting point … is ahead of the WAL flush position)", Resets: false, Undo: false},
	{ID: "P", Seed: "-", Title: "Proof: walstep writes a marker row and looks for it on the replica",
		Watch: "a write walstep makes, not the seed's: the marker reaches a replica that follows the primary within 5s; a diverged replica never gets it", Resets: false, Undo: false},
}

// The seed's document binds to exactly the steps the Go table had, field
// by field: IDs, numbers, parents, titles, the seed's commands, notes,
// hints, which step resets the lab and which can undo itself.
func TestSeedDocumentMatchesTheTable(t *testing.T) {
	got := Playbook(&Env{Lab: &cluster.Lab{Dir: t.TempDir()}})
	if len(got) != len(seedTable) {
		t.Fatalf("%d steps, the table had %d", len(got), len(seedTable))
	}
	for i, w := range seedTable {
		g := got[i]
		for _, f := range []struct{ name, got, want string }{
			{"ID", g.ID, w.ID}, {"Seed", g.Seed, w.Seed}, {"Parent", g.Parent, w.Parent}, {"Title", g.Title, w.Title},
			{"Command", g.Command, w.Command}, {"Watch", g.Watch, w.Watch}, {"Hint", g.Hint, w.Hint},
		} {
			if f.got != f.want {
				t.Errorf("step %s %s\n got %q\nwant %q", w.ID, f.name, f.got, f.want)
			}
		}
		if g.Resets != w.Resets || (g.Undo != nil) != w.Undo || g.Run == nil {
			t.Errorf("step %s: resets %v undo %v run %v, want resets %v undo %v", w.ID, g.Resets, g.Undo != nil, g.Run != nil, w.Resets, w.Undo)
		}
	}
}
