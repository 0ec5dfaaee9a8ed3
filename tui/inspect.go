package tui

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"walstep/cluster"
	"walstep/pg"
	"walstep/untrusted"
)

// inspectDirs are the host paths the inspect view reads.
type inspectDirs struct {
	Data   string // the data directory
	Config string // the lab's config dir for this node (include_dir target)
}

// initdbConfEnd is the last line initdb writes into postgresql.conf; what
// follows it was appended by the playbook (or by hand).
const initdbConfEnd = "# Add settings for extensions here"

// inspect describes node's data dir as the issue asks: signal files, lines
// appended to postgresql.conf, include_dir files, pg_wal, pg_controldata
// and history files. It only reads; every problem becomes a line of text.
func inspect(ctx context.Context, node cluster.Node, d inspectDirs, srv Servers) string {
	var b strings.Builder
	// Everything shown comes from files the server user writes.
	p := func(format string, a ...any) { b.WriteString(untrusted.Text(fmt.Sprintf(format, a...)) + "\n") }
	p("%s data dir: %s", node, d.Data)
	if d.Data == "" {
		p("  (no backend: nothing to read)")
		return b.String()
	}
	if _, err := os.Stat(d.Data); errors.Is(err, fs.ErrNotExist) {
		p("  does not exist yet (step 1 creates the primary's, steps 6b and 7 fetch the backups)")
		return b.String()
	} else if err != nil {
		p("  cannot read: %v", err)
		return b.String()
	}

	p("")
	p("signal files")
	for _, f := range []string{"recovery.signal", "standby.signal", "backup_label", "postmaster.pid"} {
		state := "absent"
		if _, err := os.Stat(filepath.Join(d.Data, f)); err == nil {
			state = "present"
		}
		p("  %-16s %s", f, state)
	}

	p("")
	appended, includeDir := confAppended(filepath.Join(d.Data, "postgresql.conf"))
	p("postgresql.conf: lines after initdb's")
	for _, l := range appended {
		p("  %s", l)
	}
	if auto := settingLines(filepath.Join(d.Data, "postgresql.auto.conf")); len(auto) > 0 {
		p("postgresql.auto.conf")
		for _, l := range auto {
			p("  %s", l)
		}
	}

	p("")
	if includeDir == "" {
		p("include_dir: not set")
	} else {
		dir, note := resolveInclude(d.Data, includeDir, d.Config)
		p("include_dir '%s' -> %s", includeDir, dir)
		if note != "" {
			p("  (%s)", note)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			p("  cannot list: %v", err)
		}
		if err == nil && len(entries) == 0 {
			p("  (empty)")
		}
		for _, e := range entries {
			p("  %s", e.Name())
			for _, l := range settingLines(filepath.Join(dir, e.Name())) {
				p("    %s", l)
			}
		}
	}

	p("")
	walDir := filepath.Join(d.Data, "pg_wal")
	var histories []string
	if entries, err := os.ReadDir(walDir); err != nil {
		p("pg_wal: cannot list: %v", err)
	} else {
		p("pg_wal (%d entries)", len(entries))
		for _, e := range entries {
			info, err := e.Info()
			size := ""
			if err == nil && !e.IsDir() {
				size = humanSize(info.Size())
			}
			name := e.Name()
			if e.IsDir() {
				name += "/"
			}
			p("  %-28s %s", name, size)
			if _, ok := pg.ParseHistoryFileName(e.Name()); ok {
				histories = append(histories, e.Name())
			}
		}
		if st, err := os.ReadDir(filepath.Join(walDir, "archive_status")); err == nil && len(st) > 0 {
			names := make([]string, 0, len(st))
			for _, e := range st {
				names = append(names, e.Name())
			}
			p("  archive_status: %s", strings.Join(names, " "))
		}
	}

	p("")
	p("pg_controldata")
	if srv == nil {
		p("  (no backend)")
	} else if out, err := srv.ControlData(ctx, node); err != nil {
		p("  %v", firstLine(err.Error()))
	} else {
		for _, l := range controlSummary(pg.ParseControlData(out)) {
			p("  %s", l)
		}
	}

	p("")
	if len(histories) == 0 {
		p("history files: none in pg_wal (timeline 1 has none)")
	}
	sort.Strings(histories)
	for _, h := range histories {
		raw, err := os.ReadFile(filepath.Join(walDir, h))
		if err != nil {
			p("%s: %v", h, err)
			continue
		}
		p("%s", h)
		for _, l := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
			p("  %s", l)
		}
	}
	return b.String()
}

// confAppended returns the lines after initdb's last line, or every setting
// when that line is missing, and the include_dir value if one is set.
func confAppended(path string) (lines []string, includeDir string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return []string{fmt.Sprintf("cannot read: %v", err)}, ""
	}
	all := strings.Split(string(raw), "\n")
	start := -1
	for i, l := range all {
		if strings.TrimSpace(l) == initdbConfEnd {
			start = i + 1
		}
	}
	for i, l := range all {
		t := strings.TrimSpace(l)
		if k, v, ok := strings.Cut(t, "="); ok && strings.TrimSpace(k) == "include_dir" {
			includeDir = strings.Trim(strings.TrimSpace(stripComment(v)), "'\"")
		}
		if t == "" || (start < 0 && strings.HasPrefix(t, "#")) || i < start {
			continue
		}
		lines = append(lines, t)
	}
	if len(lines) == 0 {
		lines = []string{"(none)"}
	}
	return lines, includeDir
}

// settingLines returns the non-comment, non-blank lines of a config file.
func settingLines(path string) []string {
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return []string{fmt.Sprintf("cannot read: %v", err)}
	}
	var out []string
	for _, l := range strings.Split(string(raw), "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			out = append(out, t)
		}
	}
	return out
}

func stripComment(v string) string {
	if i := strings.Index(v, "#"); i >= 0 {
		return v[:i]
	}
	return v
}

// resolveInclude maps include_dir as the server will see it when it starts
// to a host path: an absolute one that is not on the host is a container
// mount, which is the lab's config dir; the local backend's link in the
// data dir (cluster.ConfigLink) is made afresh, pointing at this node's
// config dir, each time it starts the server, whatever is there now (a
// backup leaves the link out); any other relative path is under the data
// dir. note says why when the path is not what the data dir holds now.
func resolveInclude(dataDir, dir, labConfig string) (resolved, note string) {
	if !filepath.IsAbs(dir) {
		if filepath.Clean(dir) == cluster.ConfigLink && labConfig != "" {
			link := filepath.Join(dataDir, dir)
			now := "not there yet"
			if t, err := os.Readlink(link); err == nil {
				if t == labConfig {
					return labConfig, fmt.Sprintf("through the link %s", link)
				}
				now = "now a link to " + t
			}
			return labConfig, fmt.Sprintf("through %s, %s: walstep links it to this server's config dir when it starts the server, as the seed mounts /custom-pg-configs per container", link, now)
		}
		return filepath.Join(dataDir, dir), ""
	}
	if _, err := os.Stat(dir); err == nil || labConfig == "" {
		return dir, ""
	}
	return labConfig, "the container's " + dir + " is this lab directory"
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
