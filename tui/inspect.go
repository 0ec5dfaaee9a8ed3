package tui

import (
	"context"
	"fmt"
	"strings"

	"walstep/cluster"
	"walstep/pg"
	"walstep/steps"
	"walstep/untrusted"
)

// inspect describes node's data dir (pg.InspectDataDir): signal files,
// lines appended to postgresql.conf, include_dir files, pg_wal,
// pg_controldata and history files. It only reads; every problem becomes a
// line of text. made says which steps create the data dir (madeBy).
func inspect(ctx context.Context, node cluster.Node, src pg.FileSource, made string) string {
	var b strings.Builder
	// Everything shown comes from files the server user writes, and the
	// confs hold primary_conninfo's password.
	p := func(format string, a ...any) { b.WriteString(untrusted.Shown(fmt.Sprintf(format, a...)) + "\n") }
	if src == nil {
		p("%s data dir: ", node)
		p("  (no backend: nothing to read)")
		return b.String()
	}
	d := pg.InspectDataDir(ctx, src, node)
	p("%s data dir: %s", node, d.Where)
	switch {
	case d.Missing:
		if made == "" {
			p("  does not exist yet (no step of the playbook creates it)")
		} else {
			p("  does not exist yet (%s)", made)
		}
		return b.String()
	case d.Err != "":
		p("  cannot read: %s", d.Err)
		return b.String()
	}

	p("")
	p("signal files")
	for _, f := range d.Signals {
		state := "absent"
		if f.Present {
			state = "present"
		}
		p("  %-16s %s", f.Name, state)
	}

	p("")
	p("postgresql.conf: lines after initdb's")
	for _, l := range d.Appended {
		p("  %s", l)
	}
	if len(d.AutoConf) > 0 {
		p("postgresql.auto.conf")
		for _, l := range d.AutoConf {
			p("  %s", l)
		}
	}

	p("")
	if d.IncludeDir == "" {
		p("include_dir: not set")
	} else {
		p("include_dir '%s' -> %s", d.IncludeDir, d.IncludeWhere)
		if d.IncludeNote != "" {
			p("  (%s)", d.IncludeNote)
		}
		if d.IncludeErr != "" {
			p("  cannot list: %s", d.IncludeErr)
		} else if len(d.IncludeFiles) == 0 {
			p("  (empty)")
		}
		for _, f := range d.IncludeFiles {
			p("  %s", f.Name)
			for _, l := range f.Lines {
				p("    %s", l)
			}
		}
	}

	p("")
	if d.WALErr != "" {
		p("pg_wal: cannot list: %s", d.WALErr)
	} else {
		p("pg_wal (%d entries)", len(d.WAL))
		for _, e := range d.WAL {
			name, size := e.Name, humanSize(e.Size)
			if e.Dir {
				name, size = name+"/", ""
			}
			p("  %-28s %s", name, size)
		}
		if len(d.ArchiveStatus) > 0 {
			p("  archive_status: %s", strings.Join(d.ArchiveStatus, " "))
		}
	}

	p("")
	p("pg_controldata")
	if d.ControlErr != "" {
		p("  %v", firstLine(d.ControlErr))
	} else {
		for _, l := range controlSummary(*d.Control) {
			p("  %s", l)
		}
	}

	p("")
	if len(d.Histories) == 0 {
		p("history files: none in pg_wal (timeline 1 has none)")
	}
	for _, h := range d.Histories {
		if h.Err != "" {
			p("%s: %s", h.Name, h.Err)
			continue
		}
		p("%s", h.Name)
		for _, l := range h.Lines {
			p("  %s", l)
		}
	}
	return b.String()
}

// controlSummary is the part of pg_controldata that tells the story.
func controlSummary(c pg.ControlData) []string {
	out := []string{
		"state: " + orDash(c.State),
		fmt.Sprintf("latest checkpoint: %s on timeline %d (previous %d), redo %s", c.CheckpointLSN, c.CheckpointTLI, c.PrevTLI, c.RedoLSN),
	}
	if c.MinRecoveryPoint.Valid() {
		out = append(out, fmt.Sprintf("minimum recovery point: %s on timeline %d", c.MinRecoveryPoint, c.MinRecoveryTLI))
	} else {
		out = append(out, "minimum recovery point: none")
	}
	if c.BackupStart.Valid() || c.BackupEnd.Valid() {
		out = append(out, fmt.Sprintf("backup start %s, end %s", c.BackupStart, c.BackupEnd))
	}
	return out
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func joinLines(lines []string) string { return strings.Join(lines, "\n") }

// madeBy says which of the playbook's steps create node's data dir, as
// inspect tells it: "step 1 runs initdb, step 6b fetches a backup".
func madeBy(all []steps.Step, node cluster.Node) string {
	var parts []string
	for _, s := range all {
		for _, m := range s.Makes {
			if m.Node != node {
				continue
			}
			how := "runs initdb"
			if m.Fetch {
				how = "fetches a backup"
			}
			parts = append(parts, fmt.Sprintf("step %s %s", s.ID, how))
		}
	}
	return strings.Join(parts, ", ")
}
