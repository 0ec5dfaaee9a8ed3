package explore

import (
	"fmt"
	"os"
	"path/filepath"

	"walstep/cluster"
)

// builtin is one variant of the catalogue `walstep init` writes.
type builtin struct {
	name   string
	readme string            // one line: what it tests and what it gave here
	files  map[string]string // relative path → content
}

const targetPromote = "recovery_target = 'immediate'\nrecovery_target_action = 'promote'\n"

// catalogue is the built-in variants. Each README line says what was
// measured with `walstep run --repeat 3` on PostgreSQL 15 (local backend,
// cp archiver), not what was expected.
var catalogue = []builtin{
	{name: "default", readme: "the lab's own files (init's defaults: recovery_target 'immediate' on both servers). Measured (PG 15, cp, 3 runs): diverged 3/3",
		files: nil},
	{name: "no-target", readme: "no recovery target on the primary, so it replays the backup's SWITCH before promoting. Measured (PG 15, cp, 3 runs): healthy 3/3",
		files: map[string]string{cluster.PrimaryRestore: "# No recovery target: the primary restores to the end of the archive\n# before it promotes.\n#recovery_target = 'immediate'\n#recovery_target_action = 'promote'\n"}},
	{name: "switch-after-13", readme: "select pg_switch_wal() on the primary before the replica restarts, so timeline 2's segment is archived. Measured (PG 15, cp, 3 runs): healthy 3/3",
		files: map[string]string{"hooks/after-13.primary.sql": "-- Archive timeline 2's segment before the replica reads the archive.\nselect pg_switch_wal();\n"}},
	{name: "archive-timeout", readme: "archive_timeout = 1 on the primary. Measured (PG 15, cp, 3 runs): diverged 3/3 — the promoted primary writes nothing more, so no switch comes (it stayed at 0/2000178 for 12 s)",
		files: map[string]string{cluster.PrimaryRestore: targetPromote + "# Switch segments (and archive) one second after WAL is written.\narchive_timeout = 1\n"}},
	{name: "archive-timeout-write", readme: "archive_timeout = 1, a row inserted after promotion and the replica restarted 3 s later. Measured (PG 15, cp, 3 runs): diverged 2/3, healthy 1/3 — a race on what the archive holds",
		files: map[string]string{
			cluster.PrimaryRestore:      targetPromote + "# Switch segments (and archive) one second after WAL is written.\narchive_timeout = 1\n",
			"hooks/after-13.primary.sh": "# Write on timeline 2, then give archive_timeout time to archive it.\npsql -c \"insert into test values ('after promotion')\"\nsleep 3\n"}},
	{name: "target-timeline-current", readme: "the replica restores with recovery_target_timeline = 'current'. Measured (PG 15, cp, 3 runs): diverged 3/3",
		files: map[string]string{cluster.ReplicaRestore: "recovery_target = 'immediate'\nrecovery_target_action = 'shutdown'\n# Stay on the backup's timeline while restoring.\nrecovery_target_timeline = 'current'\n"}},
	{name: "checkpoint-after-13", readme: "CHECKPOINT on the primary before the replica restarts (a checkpoint does not switch segments). Measured (PG 15, cp, 3 runs): diverged 3/3",
		files: map[string]string{"hooks/after-13.primary.sql": "-- A checkpoint writes WAL but does not switch segments.\ncheckpoint;\n"}},
	{name: "scram-password", readme: "the password stored as SCRAM (password_encryption set before step 4c's ALTER USER), as PostgreSQL 14+ does by default: on 13 the seed's scram pg_hba lines refuse an md5 password. Measured (Docker, PG 13/15/17 × cp/wal-g, 1 run each): diverged 6/6",

		files: map[string]string{"hooks/after-4c.primary.sql": "-- PostgreSQL 13 stores passwords as md5 by default, which the seed's\n-- scram-sha-256 pg_hba lines refuse: store it as SCRAM, as 14+ does.\nset password_encryption = 'scram-sha-256';\nalter user postgres encrypted password 'postgres';\n"}},
	{name: "late-replica", readme: "the replica restarted 3 s after the slot is made, nothing else changed. Measured (PG 15, cp, 3 runs): diverged 3/3",
		files: map[string]string{"hooks/after-13.primary.sh": "# Wait before the replica restarts.\nsleep 3\n"}},
}

// BuiltinNames are the names of the built-in variants, in catalogue order.
func BuiltinNames() []string {
	var out []string
	for _, b := range catalogue {
		out = append(out, b.name)
	}
	return out
}

// WriteCatalogue writes the built-in variants of the lab's playbook into
// its variants/ directory (the seed's for a playbook without its own). A variant directory that exists is left as it is, so a user's
// edits survive a second init.
func WriteCatalogue(lab *cluster.Lab) error {
	root := lab.Path(VariantsDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("create variants dir: %w", err)
	}
	for _, b := range catalogueFor(lab) {
		dir := filepath.Join(root, b.name)
		if _, err := os.Lstat(dir); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, cluster.HooksDir), 0o755); err != nil {
			return fmt.Errorf("create variant %s: %w", b.name, err)
		}
		files := map[string]string{ReadmeFile: b.readme + "\n"}
		for p, c := range b.files {
			files[p] = c
		}
		for p, c := range files {
			if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(p)), []byte(c), 0o644); err != nil {
				return fmt.Errorf("write variant %s: %w", b.name, err)
			}
		}
		// An empty hooks/ is noise in a variant that has none.
		_ = os.Remove(filepath.Join(dir, cluster.HooksDir))
	}
	return nil
}
