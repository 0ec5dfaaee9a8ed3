package pg

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"walstep/cluster"
)

// FileSource is the part of a backend InspectDataDir reads through: no
// host path is assumed, so a backend whose servers run elsewhere fits.
type FileSource interface {
	Paths(node cluster.Node) cluster.ServerPaths
	DataDir(node cluster.Node) string // for display only
	ReadFile(ctx context.Context, node cluster.Node, area cluster.FileArea, name string) ([]byte, error)
	ReadDir(ctx context.Context, node cluster.Node, area cluster.FileArea, name string) ([]cluster.FileInfo, error)
	ControlData(ctx context.Context, node cluster.Node) (string, error)
}

// InitdbConfEnd is the last line initdb writes into postgresql.conf; what
// follows it was appended by the playbook (or by hand).
const InitdbConfEnd = "# Add settings for extensions here"

// DataDirInfo is what a data dir holds that tells the story: signal files,
// the lines appended to postgresql.conf, the include_dir files, pg_wal,
// pg_controldata and the history files. Problems are kept as text.
type DataDirInfo struct {
	Where   string // the data dir, as a person finds it
	Missing bool   // it does not exist yet
	Err     string // it cannot be read

	Signals  []SignalFile
	Appended []string // postgresql.conf lines after initdb's, or every setting
	AutoConf []string // postgresql.auto.conf settings

	IncludeDir   string // include_dir as postgresql.conf sets it; "" when unset
	IncludeWhere string // where that is, as a person finds it
	IncludeNote  string // why IncludeWhere is not what the data dir holds now
	IncludeErr   string
	IncludeFiles []ConfFile

	WAL           []cluster.FileInfo
	WALErr        string
	ArchiveStatus []string

	Control    *ControlData
	ControlErr string

	Histories []ConfFile // history files in pg_wal, with their lines
}

// SignalFile is a file whose presence changes how the server starts.
type SignalFile struct {
	Name    string
	Present bool
}

// ConfFile is a file's name and its meaningful lines (or an error in Err).
type ConfFile struct {
	Name  string
	Lines []string
	Err   string
}

// InspectDataDir reads node's data dir through src. It only reads.
func InspectDataDir(ctx context.Context, src FileSource, node cluster.Node) DataDirInfo {
	in := DataDirInfo{Where: src.DataDir(node)}
	read := func(area cluster.FileArea, name string) ([]byte, error) { return src.ReadFile(ctx, node, area, name) }
	top, err := src.ReadDir(ctx, node, cluster.AreaData, "")
	if errors.Is(err, fs.ErrNotExist) {
		in.Missing = true
		return in
	} else if err != nil {
		in.Err = err.Error()
		return in
	}
	has := map[string]cluster.FileInfo{}
	for _, e := range top {
		has[e.Name] = e
	}
	for _, f := range []string{"recovery.signal", "standby.signal", "backup_label", "postmaster.pid"} {
		_, ok := has[f]
		in.Signals = append(in.Signals, SignalFile{Name: f, Present: ok})
	}

	raw, err := read(cluster.AreaData, "postgresql.conf")
	if err != nil {
		in.Appended = []string{fmt.Sprintf("cannot read: %v", err)}
	} else {
		in.Appended, in.IncludeDir = confAppended(string(raw))
	}
	in.AutoConf = settingLines(read(cluster.AreaData, "postgresql.auto.conf"))

	if in.IncludeDir != "" {
		in.readInclude(ctx, src, node, has)
	}

	wal, err := src.ReadDir(ctx, node, cluster.AreaData, "pg_wal")
	if err != nil {
		in.WALErr = err.Error()
	}
	in.WAL = wal
	var histories []string
	for _, e := range wal {
		if _, ok := ParseHistoryFileName(e.Name); ok {
			histories = append(histories, e.Name)
		}
	}
	if st, err := src.ReadDir(ctx, node, cluster.AreaData, "pg_wal/archive_status"); err == nil {
		for _, e := range st {
			in.ArchiveStatus = append(in.ArchiveStatus, e.Name)
		}
	}

	if out, err := src.ControlData(ctx, node); err != nil {
		in.ControlErr = err.Error()
	} else {
		c := ParseControlData(out)
		in.Control = &c
	}

	for _, h := range histories {
		f := ConfFile{Name: h}
		raw, err := read(cluster.AreaData, path.Join("pg_wal", h))
		if err != nil {
			f.Err = err.Error()
		} else {
			f.Lines = strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
		}
		in.Histories = append(in.Histories, f)
	}
	return in
}

// readInclude resolves include_dir as the server will see it when it
// starts, and reads its files. The include_dir walstep writes names the
// node's config dir (the seed's per-container /custom-pg-configs; on the
// local backend a link in the data dir, made afresh, pointing at this
// node's config dir, each time walstep starts the server, whatever is there
// now: a backup leaves the link out). Any other relative path is under the
// data dir; an absolute one elsewhere is out of walstep's reach.
func (in *DataDirInfo) readInclude(ctx context.Context, src FileSource, node cluster.Node, top map[string]cluster.FileInfo) {
	p := src.Paths(node)
	area, name := cluster.AreaData, in.IncludeDir
	switch {
	case path.Clean(in.IncludeDir) == path.Clean(p.Config):
		area, name = cluster.AreaConfig, ""
		in.IncludeWhere = p.ConfigDir
		if !path.IsAbs(p.Config) {
			link := filepath.Join(in.Where, p.Config)
			now := "not there yet"
			if e, ok := top[p.Config]; ok && e.Link != "" {
				if e.Link == p.ConfigDir {
					in.IncludeNote = "through the link " + link
					break
				}
				now = "now a link to " + e.Link
			}
			in.IncludeNote = fmt.Sprintf("through %s, %s: walstep links it to this server's config dir when it starts the server, as the seed mounts /custom-pg-configs per container", link, now)
		}
	case !path.IsAbs(in.IncludeDir):
		in.IncludeWhere = filepath.Join(in.Where, in.IncludeDir)
	default:
		in.IncludeWhere = in.IncludeDir
		in.IncludeErr = "outside the server's directories, which walstep reads"
		return
	}
	ents, err := src.ReadDir(ctx, node, area, name)
	if err != nil {
		in.IncludeErr = err.Error()
		return
	}
	for _, e := range ents {
		lines := settingLines(src.ReadFile(ctx, node, area, path.Join(name, e.Name)))
		in.IncludeFiles = append(in.IncludeFiles, ConfFile{Name: e.Name, Lines: lines})
	}
}

// confAppended returns the lines after initdb's last line, or every setting
// when that line is missing, and the include_dir value if one is set.
func confAppended(conf string) (lines []string, includeDir string) {
	all := strings.Split(conf, "\n")
	start := -1
	for i, l := range all {
		if strings.TrimSpace(l) == InitdbConfEnd {
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

// settingLines returns the non-comment, non-blank lines of a config file;
// none when it does not exist.
func settingLines(raw []byte, err error) []string {
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

// recoveryTargets are the settings that give recovery a target.
var recoveryTargets = map[string]bool{
	"recovery_target": true, "recovery_target_lsn": true, "recovery_target_name": true,
	"recovery_target_time": true, "recovery_target_xid": true,
}

// Setting is the value the config files read give name and the file that
// sets it last, taken in the order the server takes them (postgresql.conf,
// the include_dir's .conf files, postgresql.auto.conf); ok is false when
// none sets it, so the server's default holds.
func (in DataDirInfo) Setting(name string) (value, file string, ok bool) {
	take := func(where string, lines []string) {
		for _, l := range lines {
			if k, v, found := strings.Cut(l, "="); found && strings.TrimSpace(k) == name {
				value, file, ok = strings.Trim(strings.TrimSpace(stripComment(v)), "'\""), where, true
			}
		}
	}
	take("postgresql.conf", in.Appended)
	for _, f := range in.IncludeFiles {
		if serverReads(f.Name) {
			take(path.Join(in.IncludeWhere, f.Name), f.Lines)
		}
	}
	take("postgresql.auto.conf", in.AutoConf)
	return value, file, ok
}

// ConfFiles names the config files the server reads, in its order.
func (in DataDirInfo) ConfFiles() []string {
	out := []string{"postgresql.conf"}
	for _, f := range in.IncludeFiles {
		if serverReads(f.Name) {
			out = append(out, path.Join(in.IncludeWhere, f.Name))
		}
	}
	return append(out, "postgresql.auto.conf")
}

// serverReads is whether include_dir makes the server read a file of that
// name: a .conf file, not a hidden one.
func serverReads(name string) bool {
	return strings.HasSuffix(name, ".conf") && !strings.HasPrefix(name, ".")
}

// SetsRecoveryTarget reports whether the config files read set any
// recovery target to a non-empty value, taking them in the order the
// server does (postgresql.conf, then its include_dir files, then
// postgresql.auto.conf; a later setting wins).
func (in DataDirInfo) SetsRecoveryTarget() bool {
	last := map[string]string{}
	take := func(lines []string) {
		for _, l := range lines {
			k, v, ok := strings.Cut(l, "=")
			if !ok {
				continue
			}
			k = strings.TrimSpace(k)
			if recoveryTargets[k] {
				last[k] = strings.Trim(strings.TrimSpace(stripComment(v)), "'\"")
			}
		}
	}
	take(in.Appended)
	for _, f := range in.IncludeFiles {
		if serverReads(f.Name) {
			take(f.Lines)
		}
	}
	take(in.AutoConf)
	for _, v := range last {
		if v != "" {
			return true
		}
	}
	return false
}
