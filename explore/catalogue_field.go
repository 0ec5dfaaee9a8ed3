package explore

import (
	"os"

	"walstep/cluster"
	"walstep/playbook"
)

// fieldVariant is a variant of a built-in playbook told as a playbook of
// its own: the orders that decide the outcome, and the fixes. Its runs
// carry that document as their playbook.md.
type fieldVariant struct {
	name     string // the variant's, in explore's matrix
	playbook string // the built-in playbook it runs ("" for the base's)
	readme   string // what was measured, by walstep and by the plain script
}

// fieldCatalogues are the variants of the field's built-in playbooks,
// each measured by walstep run (PG 15.18, local, cp) and by the plain
// script of testdata/field/ it follows.
var fieldCatalogues = map[string][]fieldVariant{
	"double-promotion": {
		{"default", "", "a restarted as b's standby after b was promoted and a wrote on. Measured (PG 15, local, cp): diverged, as testdata/field/double-promotion.sh a-follows-b (5/5): requested timeline 2 is not a child of this server's history"},
		{"b-follows-a", "double-promotion-b-follows-a", "B demoted to A's standby. Measured (PG 15, local, cp): diverged, as the script's b-follows-a (5/5): highest timeline 1 of the primary is behind recovery timeline 2"},
		{"both-promoted", "double-promotion-both-promoted", "A restored from the archive and promoted while B's pushes are held back: both select timeline 2. Measured (PG 15, local, cp): diverged, as the script's both-promoted (5/5)"},
		{"rewind", "double-promotion-rewind", "the fix: CHECKPOINT on B, pg_rewind A from B, A as B's standby. Measured (PG 15, local, cp): healthy, as the script's rewind (5/5)"},
		{"rewind-no-checkpoint", "double-promotion-rewind-no-checkpoint", "pg_rewind as soon as A is down, no CHECKPOINT. Measured (PG 15, local, cp): healthy, as the script's rewind-no-checkpoint (5/5): B's promotion checkpoint had ended"},
		{"rewind-no-hints", "double-promotion-rewind-no-hints", "A without wal_log_hints or checksums: pg_rewind refuses and the step fails. Measured (PG 15, local, cp): diverged (A stopped past the fork), as the script's rewind-no-hints (5/5)"},
	},
	"failover-old-primary-archives": {
		{"default", "", "a started and stopped as a primary after b's promotion, before c is repointed to b. Measured (PG 15, local, cp): diverged c, as testdata/field/failover-old-primary-archives.sh old-primary-archives (4/4): requested starting point … is ahead of the WAL flush position"},
		{"standby-first", "failover-old-primary-archives-standby-first", "c repointed and restarted before a's cycle. Measured (PG 15, local, cp): healthy, as the script's standby-first (4/4)"},
		{"history-late", "failover-old-primary-archives-history-late", "as the default, with b's pushes held back until c has restarted. Measured (PG 15, local, cp): diverged c, as the script's history-late (4/4): … on timeline 1 is not in this server's history"},
		{"rejoin-as-standby", "failover-old-primary-archives-rejoin-as-standby", "the fix: a started as b's standby, never as a primary. Measured (PG 15, local, cp): healthy (a and c), as the script's rejoin-as-standby (3/3)"},
		{"a-rewound", "failover-old-primary-archives-a-rewound", "as the default, then a rewound from b (CHECKPOINT on b, pg_rewind) and started as b's standby: one standby each way. Measured (PG 15, local, cp): diverged c with a healthy, as the script's a-rewound (3/3): b's marker reaches a, never c"},
	},
	"stray-timeline": {
		{"default", "", "s, p's new standby from the backup before t's fork, with recovery_target_timeline 'latest'. Measured (PG 15, local, cp): diverged s, as testdata/field/stray-timeline.sh latest (5/5): highest timeline 1 of the primary is behind recovery timeline 2"},
		{"latest-past-fork", "stray-timeline-latest-past-fork", "s from a backup of p taken after t's fork, 'latest'. Measured (PG 15, local, cp): diverged s, as the script's latest-past-fork (5/5): requested timeline 2 is not a child of this server's history"},
		{"current", "stray-timeline-current", "the fix: recovery_target_timeline 'current'. Measured (PG 15, local, cp): healthy, s holds production's row, as the script's current (5/5)"},
		{"timeline-1", "stray-timeline-timeline-1", "the fix: recovery_target_timeline '1'. Measured (PG 15, local, cp): healthy, as the script's timeline-1 (5/5)"},
	},
}

// FieldVariants names the variants of a built-in playbook that has a
// catalogue of its own, nil for the others.
func FieldVariants(playbookName string) []string {
	var out []string
	for _, v := range fieldCatalogues[playbookName] {
		out = append(out, v.name)
	}
	return out
}

// catalogueFor is the catalogue for the lab's playbook: a field
// playbook's own variants, else the seed's.
func catalogueFor(lab *cluster.Lab) []builtin {
	raw, err := os.ReadFile(lab.Path(cluster.PlaybookFile))
	if err != nil {
		return catalogue
	}
	d, err := playbook.Parse(cluster.PlaybookFile, raw)
	if err != nil {
		return catalogue
	}
	vs, ok := fieldCatalogues[d.Name]
	if !ok {
		return catalogue
	}
	var out []builtin
	for _, v := range vs {
		b := builtin{name: v.name, readme: v.readme}
		if v.playbook != "" {
			src, err := playbook.BuiltinSource(v.playbook)
			if err != nil {
				continue // a missing built-in fails the catalogue's test
			}
			b.files = map[string]string{cluster.PlaybookFile: string(src)}
		}
		out = append(out, b)
	}
	return out
}
