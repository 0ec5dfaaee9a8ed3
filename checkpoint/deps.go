package checkpoint

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"walstep/cluster"
	"walstep/playbook"
)

// Deps are what the lab's state after the first steps of a playbook
// depends on, and nothing else a user edits: the steps' text as the
// playbook writes them, wal-g.json (the reset writes the servers' copy of
// it), the lab files the steps read (the confs they copy) and the hooks
// that run among them. Explore's shared prefix and the checkpoints both
// decide with it whether a kept state still holds.
type Deps struct {
	Salt    string   // what else the state depends on: backend and archiver, or explore's column
	Sources []string // "step ID\x00its text"
	Files   []string // lab-relative names, sorted
}

// hookName is how hook files are named: after-<step>.<node>.<ext>.
var hookName = regexp.MustCompile(`^after-([0-9A-Za-z]+)\.(primary|replica)\.(sql|sh)$`)

// PrefixDeps is the dependency rule for the state prefix leaves: hooks
// names hook files (lab-relative, "hooks/after-4c.primary.sql"), and
// those that run after one of prefix's steps count.
func PrefixDeps(salt string, prefix []playbook.Step, hooks []string) Deps {
	d := Deps{Salt: salt}
	ids := map[string]bool{}
	files := map[string]bool{cluster.WalgJSON: true}
	for _, st := range prefix {
		ids[st.ID] = true
		d.Sources = append(d.Sources, st.ID+"\x00"+st.Source)
		for _, f := range st.Reads() {
			files[f] = true
		}
	}
	for _, h := range hooks {
		if m := hookName.FindStringSubmatch(filepath.Base(h)); m != nil && ids[m[1]] {
			files[h] = true
		}
	}
	for f := range files {
		d.Files = append(d.Files, f)
	}
	sort.Strings(d.Files)
	return d
}

// Parts hashes each thing d names, the files' contents as read gives
// them (nil for a file that is not there): "step 4a" and "file
// wal-g.json" to a hash, so a changed one can be named.
func (d Deps) Parts(read func(rel string) []byte) map[string]string {
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:8]) }
	out := map[string]string{"salt": sum([]byte(d.Salt))}
	for _, s := range d.Sources {
		id, text, _ := strings.Cut(s, "\x00")
		out["step "+id] = sum([]byte(text))
	}
	for _, f := range d.Files {
		b := read(f)
		if b == nil {
			out["file "+f] = "absent"
			continue
		}
		out["file "+f] = sum(b)
	}
	return out
}

// Key is one hash of parts.
func Key(parts map[string]string) string {
	var names []string
	for n := range parts {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		h.Write([]byte(n + "\x00" + parts[n] + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Changed names what differs between the parts a state was kept with and
// the parts now ("file primary_restore.conf changed"), "" when nothing.
func Changed(was, now map[string]string) string {
	var diffs []string
	for n, h := range now {
		switch w, ok := was[n]; {
		case !ok:
			diffs = append(diffs, n+" is new")
		case w != h:
			diffs = append(diffs, n+" changed")
		}
	}
	for n := range was {
		if _, ok := now[n]; !ok {
			diffs = append(diffs, n+" is gone")
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 3 {
		diffs = append(diffs[:3], "…")
	}
	return strings.Join(diffs, ", ")
}
