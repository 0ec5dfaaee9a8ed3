package playbook

// SharedPrefix is how many of the playbook's first steps runs may share
// when they differ only in files other than shareable ones: the longest
// run of steps from the start that read no other lab file, cut back to
// where no server runs (a copy of the lab is only whole with its servers
// stopped) and no backup pushed in it waits to be fetched (a backup holds
// its lab's paths, in archive_command, which a copy of the lab can only
// rewrite in the data dirs it has). 0 when nothing can be shared.
func (d *Doc) SharedPrefix(shareable func(file string) bool) int {
	running := map[string]bool{}
	unfetched := false
	best := 0
	for i, st := range d.Steps {
		for _, f := range st.Reads() {
			if !shareable(f) {
				return best
			}
		}
		for _, a := range st.Actions {
			switch a.Verb {
			case "backup push":
				unfetched = true
			case "backup fetch":
				unfetched = false
			}
			for _, n := range a.Starts() {
				running[n] = true
			}
			for n := range running {
				if a.Stops(n) {
					delete(running, n)
				}
			}
		}
		if len(running) == 0 && !unfetched {
			best = i + 1
		}
	}
	return best
}

// DataDirsAfter says what the first n steps leave in each node's data
// dir: "initdb" or "backup fetch" for the last action that made it, ""
// when none did or a later step removed it.
func (d *Doc) DataDirsAfter(n int) map[string]string {
	out := map[string]string{}
	for _, st := range d.Steps[:min(n, len(d.Steps))] {
		for _, a := range st.Actions {
			switch {
			case a.MakesDataDir():
				out[a.Node()] = a.Verb
			case a.Verb == "remove-data-dir":
				delete(out, a.Node())
			case a.Verb == "reset lab":
				clear(out)
			}
		}
	}
	return out
}

// PrefixBefore is how many of the playbook's first steps a run starting
// at step id may take from a kept state: the steps before the nearest
// step at or before id with no server running and no backup pushed but
// not yet fetched before it (what a copy of the lab can stand for). 0
// when id is not a step or no such step precedes it.
func (d *Doc) PrefixBefore(id string) int {
	at := -1
	for i, st := range d.Steps {
		if st.ID == id {
			at = i
		}
	}
	if at <= 0 {
		return 0
	}
	all := func(string) bool { return true }
	sub := Doc{Steps: d.Steps[:at]}
	return sub.SharedPrefix(all)
}
