package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// MarkerFile marks a directory as a lab that walstep created; nothing is
// deleted in a directory without it.
const MarkerFile = ".walstep-lab"

// LabVersion is the lab layout version written in the marker.
const LabVersion = 1

// Names of the lab's files and directories, as in the seed's working dir.
const (
	PrimaryData    = "primary-data"
	ReplicaData    = "replica-data"
	StorageDir     = "wal-g-storage"
	WalgJSON       = "wal-g.json"
	PrimaryConfig  = "primary-config"
	ReplicaConfig  = "replica-config"
	PrimaryRestore = "primary_restore.conf"
	ReplicaRestore = "replica_restore.conf"
	ReplicaStandby = "replica_standby.conf"
	LogsDir        = "logs"
	RunDir         = "run"
	HooksDir       = "hooks"
	LabReadme      = "README.md"
	PlaybookFile   = "playbook.md"
)

// Marker is the content of MarkerFile.
type Marker struct {
	Tool    string    `json:"tool"`
	Version int       `json:"version"`
	Created time.Time `json:"created"`
}

// Lab is a walstep lab directory.
type Lab struct {
	Dir  string   // absolute, symlinks resolved
	topo Topology // this session's servers (SetTopology); the seed's when unset
}

// Default file contents written by InitLab; they reproduce the bug.
const (
	DefaultPrimaryRestore = `# Restore settings for the primary (copied to primary-config/ at step 8).
# The default forks timeline 2 at the consistency point, which is what makes
# the replica diverge. Comment both lines out to restore to the end of WAL.
recovery_target = 'immediate'
recovery_target_action = 'promote'
`
	DefaultReplicaRestore = `# Restore settings for the replica's first start (copied at step 8).
recovery_target = 'immediate'
recovery_target_action = 'shutdown'
`
	DefaultReplicaStandby = `# Standby settings for the replica (copied at follow-up step 4).
# ${PRIMARY_HOST} and ${PRIMARY_PORT} are filled in by walstep: the primary's
# network alias and port in Docker, 127.0.0.1 and its port locally.
primary_conninfo = 'host=${PRIMARY_HOST} port=${PRIMARY_PORT} user=postgres password=postgres'
primary_slot_name = 'replica'
`
	DefaultWalgJSON = `{
  "WALG_FILE_PREFIX": "/wal-g-storage",
  "WALG_COMPRESSION_METHOD": "lz4",
  "PGUSER": "postgres",
  "PGDATABASE": "postgres"
}
`
	labReadme = `# walstep lab

This directory is a walstep lab, laid out like the seed's working directory.

Editable (walstep never overwrites these once written):

- primary_restore.conf, replica_restore.conf, replica_standby.conf: the three
  conf files of the seed. ${PRIMARY_HOST} and ${PRIMARY_PORT} are filled in
  when a file is copied into primary-config/ or replica-config/.
- wal-g.json: the WAL-G config. WALG_FILE_PREFIX, PGHOST and PGPORT are set
  by walstep for the backend in use (run/wal-g.json is what the servers read).
- playbook.md: the reproduction walstep steps through, as a Markdown
  document (docs/playbooks.md describes it). Edit a step's walstep block
  and retry the step, or add and remove steps: they count from the next
  pass (step 0).
- hooks/: extra steps run after a playbook step. Name them
  after-<step>.<node>.sql or after-<step>.<node>.sh, for example
  hooks/after-13.primary.sql or hooks/after-F2.replica.sh. <step> is a step
  ID as shown in the checklist (1, 4c, 12, F1 ... F6); <node> is one of
  the playbook's nodes (primary or replica in the seed's). SQL runs through psql on that server; a shell script runs in that
  server's environment with PGHOST, PGPORT and PGDATA set.

Generated (removed and recreated by each run): primary-data/, replica-data/,
wal-g-storage/, primary-config/, replica-config/, logs/, run/, and
<node>-data/ and <node>-config/ of every other node a playbook declared
(.walstep-nodes records them).

checkpoints/ holds copies of the generated dirs between steps (the
debugger's rewind, run --from); a run keeps them, walstep clean removes
them.

Only walstep's own files inside this directory are ever deleted. The marker
file .walstep-lab says walstep made this lab.
`
)

// InitLab creates dir (if needed) as a lab with editable defaults. Existing
// editable files are kept, so a user's edits survive.
func InitLab(dir string) (*Lab, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve lab path: %w", err)
	}
	if err := checkLabPlace(resolveExisting(abs)); err != nil {
		return nil, err
	}
	if st, err := os.Stat(abs); err == nil {
		if !st.IsDir() {
			return nil, fmt.Errorf("lab %s is not a directory", abs)
		}
		if _, err := os.Stat(filepath.Join(abs, MarkerFile)); errors.Is(err, os.ErrNotExist) {
			ents, _ := os.ReadDir(abs)
			if len(ents) > 0 {
				return nil, fmt.Errorf("lab %s exists, is not empty and was not made by walstep: choose a new directory", abs)
			}
		}
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("create lab: %w", err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("resolve lab path: %w", err)
	}
	if err := checkLabPlace(real); err != nil {
		return nil, err
	}
	l := &Lab{Dir: real}
	mpath := filepath.Join(real, MarkerFile)
	if _, err := os.Stat(mpath); errors.Is(err, os.ErrNotExist) {
		b, _ := json.MarshalIndent(Marker{Tool: "walstep", Version: LabVersion, Created: time.Now().UTC()}, "", "  ")
		if err := os.WriteFile(mpath, append(b, '\n'), 0o644); err != nil {
			return nil, fmt.Errorf("write lab marker: %w", err)
		}
	}
	defaults := map[string]string{
		PrimaryRestore: DefaultPrimaryRestore,
		ReplicaRestore: DefaultReplicaRestore,
		ReplicaStandby: DefaultReplicaStandby,
		WalgJSON:       DefaultWalgJSON,
		LabReadme:      labReadme,
	}
	for name, content := range defaults {
		p := filepath.Join(real, name)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		mode := os.FileMode(0o644)
		if name == ReplicaStandby {
			mode = 0o600 // it holds primary_conninfo's password
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(real, HooksDir), 0o755); err != nil {
		return nil, fmt.Errorf("create hooks dir: %w", err)
	}
	return l, nil
}

// OpenLab opens an existing lab, refusing a directory without the marker or
// with a marker from another walstep lab version.
func OpenLab(dir string) (*Lab, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve lab path: %w", err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("open lab %s: %w (create it with: walstep init %s)", abs, err, dir)
	}
	b, err := os.ReadFile(filepath.Join(real, MarkerFile))
	if err != nil {
		return nil, fmt.Errorf("open lab %s: no %s marker, so walstep did not make it (create one with: walstep init DIR)", real, MarkerFile)
	}
	if err := checkLabPlace(real); err != nil {
		return nil, err
	}
	var m Marker
	if err := json.Unmarshal(b, &m); err != nil || m.Tool != "walstep" {
		return nil, fmt.Errorf("open lab %s: marker %s is unreadable: re-create the lab with walstep init in a new directory", real, MarkerFile)
	}
	if m.Version != LabVersion {
		return nil, fmt.Errorf("open lab %s: written by a walstep with lab version %d, this walstep uses %d: run walstep init in a new directory", real, m.Version, LabVersion)
	}
	l := &Lab{Dir: real}
	l.maskSecret()
	return l, nil
}

// Path joins elem onto the lab directory.
func (l *Lab) Path(elem ...string) string {
	return filepath.Join(append([]string{l.Dir}, elem...)...)
}

// CheckRemovable returns an error unless p is strictly inside the lab, the
// lab carries its marker, and no symlink on the way leads out of it. It does
// not require p to exist.
func (l *Lab) CheckRemovable(p string) error {
	if l == nil || l.Dir == "" {
		return errors.New("refuse to delete: no lab")
	}
	if _, err := os.Stat(filepath.Join(l.Dir, MarkerFile)); err != nil {
		return fmt.Errorf("refuse to delete in %s: it has no %s marker", l.Dir, MarkerFile)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return fmt.Errorf("refuse to delete %s: %w", p, err)
	}
	abs = filepath.Clean(abs)
	rel, err := filepath.Rel(l.Dir, abs)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return fmt.Errorf("refuse to delete %s: it is outside the lab %s", p, l.Dir)
	}
	if rel == MarkerFile {
		return fmt.Errorf("refuse to delete the lab marker %s", abs)
	}
	// Walk each component: none may be a symlink (a symlink inside the lab
	// could lead anywhere; os.RemoveAll on it is safe but its parents are not).
	cur := l.Dir
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		st, err := os.Lstat(cur)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("refuse to delete %s: %w", p, err)
		}
		if st.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("refuse to delete %s: %s is a symlink", p, cur)
		}
	}
	return nil
}

// Remove deletes p, which must be inside the lab (see CheckRemovable), with
// the backend's remover so files a container owns can go too.
func (l *Lab) Remove(remover func(string) error, p string) error {
	if err := l.CheckRemovable(p); err != nil {
		return err
	}
	if lab, ok := holdsLab(p); ok {
		return fmt.Errorf("refuse to delete %s: it holds the lab %s (it has a %s marker); move that lab out of %s first", p, lab, MarkerFile, l.Dir)
	}
	if remover == nil {
		remover = os.RemoveAll
	}
	if err := remover(p); err != nil {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}

// Reset removes everything a run generated, keeping the editable files.
func (l *Lab) Reset(remover func(string) error) error {
	for _, name := range l.GeneratedNames() {
		if err := l.Remove(remover, l.Path(name)); err != nil {
			return err
		}
	}
	return nil
}

// Generated returns the absolute paths a run generates.
func (l *Lab) Generated() []string {
	var out []string
	for _, name := range l.GeneratedNames() {
		out = append(out, l.Path(name))
	}
	return out
}
