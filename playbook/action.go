package playbook

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Action is one line of a step's walstep block, checked: its verb is one
// of the vocabulary's, its nodes are declared, its deadline is set.
type Action struct {
	Verb     string        // "append", "wait promoted", "backup fetch", …
	Nodes    []string      // the nodes it acts on, in order (start may name several)
	File     string        // append/replace: a file in the data dir; copy-conf: a lab file; remove: the file's name
	Area     string        // remove: "data" or "config"
	User     string        // exec/shell: "postgres" or "root"
	Args     []string      // lines, SQL commands, a script, argv, a slot name, a pattern, a signal kind, a stop mode, text
	Deadline time.Duration // waits
	Line     int           // where it is written
	words    []string
}

// Node is the first node the action names ("" for reset lab and say).
func (a Action) Node() string {
	if len(a.Nodes) == 0 {
		return ""
	}
	return a.Nodes[0]
}

// Display is the action as the screen, the transcript and reports show it:
// its words, quoted where a word needs it, as it would be written.
func (a Action) Display() string {
	out := make([]string, len(a.words))
	for i, w := range a.words {
		out[i] = quoteWord(w)
	}
	return strings.Join(out, " ")
}

// Reads lists the lab files the action reads: the confs it copies and,
// for what goes through the archiver, its configuration. What an action
// reads decides whether its result can be shared between runs that differ
// in other files (explore's prefix).
func (a Action) Reads() []string {
	switch a.Verb {
	case "copy-conf":
		return []string{a.File}
	case "reset lab", "backup push", "backup find", "backup fetch":
		return []string{ArchiverConfig}
	}
	return nil
}

// ArchiverConfig is the lab file the archiver reads (WAL-G's config).
const ArchiverConfig = "wal-g.json"

// Starts reports the nodes the action starts a server on.
func (a Action) Starts() []string {
	if a.Verb == "start" || a.Verb == "restart" {
		return a.Nodes
	}
	return nil
}

// Stops reports whether the action ends node's server (or every server,
// for reset lab).
func (a Action) Stops(node string) bool {
	switch a.Verb {
	case "reset lab":
		return true
	case "stop", "kill", "wait stopped", "wait target-shutdown":
		return a.Node() == node
	}
	return false
}

// MakesDataDir reports whether the action creates node's data dir.
func (a Action) MakesDataDir() bool { return a.Verb == "initdb" || a.Verb == "backup fetch" }

// Variables an action's strings may use, expanded when it runs for its
// node, each quoted for where it lands.
var Variables = map[string]string{
	"data":            "the node's data directory, as its server sees it",
	"config_dir":      "the node's include_dir (its config dir)",
	"storage":         "the archive's root",
	"owner":           "user:group owning the server's files",
	"archive_command": "the archiver's archive_command for the node",
	"restore_command": "the archiver's restore_command for the node",
	"backup":          "the backup name the last backup find found",
	"host:NODE":       "how the other servers reach NODE (its network alias in Docker, 127.0.0.1 locally)",
	"port:NODE":       "NODE's port as the other servers reach it",
}

var varRef = regexp.MustCompile(`\$\{([^}]*)\}`)

// nodeVar is a variable that names a node: ${host:NODE}, ${port:NODE}.
var nodeVar = regexp.MustCompile(`^(host|port):(.*)$`)

// NodeRefs lists the nodes the action's ${host:NODE} and ${port:NODE}
// name, which must be declared.
func (a Action) NodeRefs() []string {
	var out []string
	for _, s := range append(append([]string{}, a.Args...), a.File) {
		for _, m := range varRef.FindAllStringSubmatch(s, -1) {
			if v := nodeVar.FindStringSubmatch(m[1]); v != nil {
				out = append(out, v[2])
			}
		}
	}
	return out
}

// confFiles are the data-dir files append and replace may change.
var confFiles = map[string]bool{"postgresql.conf": true, "pg_hba.conf": true, "pg_ident.conf": true, "postgresql.auto.conf": true}

// verbSpec parses the words after a verb into a.
type verbSpec struct {
	usage string
	parse func(a *Action, w []string) error
}

// vocabulary is every verb walstep knows; two-word verbs by both words.
var vocabulary = map[string]verbSpec{
	"reset lab": {"reset lab", func(a *Action, w []string) error { return arity(w, 0, 0) }},
	"initdb":    {"initdb NODE", nodeOnly},
	"append": {"append NODE FILE LINE...", func(a *Action, w []string) error {
		if err := arity(w, 3, -1); err != nil {
			return err
		}
		a.Nodes, a.File, a.Args = w[:1], w[1], w[2:]
		return confFile(a.File)
	}},
	"replace": {"replace NODE FILE MATCH LINE", func(a *Action, w []string) error {
		if err := arity(w, 4, 4); err != nil {
			return err
		}
		a.Nodes, a.File, a.Args = w[:1], w[1], w[2:]
		if a.Args[0] == "" {
			return fmt.Errorf("MATCH is empty: it would match every line")
		}
		return confFile(a.File)
	}},
	"copy-conf": {"copy-conf NODE NAME", func(a *Action, w []string) error {
		if err := arity(w, 2, 2); err != nil {
			return err
		}
		a.Nodes, a.File = w[:1], w[1]
		return plainName(a.File)
	}},
	"signal": {"signal NODE recovery|standby", func(a *Action, w []string) error {
		if err := arity(w, 2, 2); err != nil {
			return err
		}
		a.Nodes, a.Args = w[:1], w[1:]
		return oneOf(w[1], "recovery", "standby")
	}},
	"remove": {"remove NODE data|config NAME", func(a *Action, w []string) error {
		if err := arity(w, 3, 3); err != nil {
			return err
		}
		a.Nodes, a.Area, a.File = w[:1], w[1], w[2]
		if err := oneOf(a.Area, "data", "config"); err != nil {
			return err
		}
		return plainName(a.File)
	}},
	"remove-data-dir": {"remove-data-dir NODE", nodeOnly},
	"start": {"start NODE...", func(a *Action, w []string) error {
		if err := arity(w, 1, -1); err != nil {
			return err
		}
		a.Nodes = w
		seen := map[string]bool{}
		for _, n := range w {
			if seen[n] {
				return fmt.Errorf("%s named twice", n)
			}
			seen[n] = true
		}
		return nil
	}},
	"restart": {"restart NODE", nodeOnly},
	"stop": {"stop NODE [fast|immediate]", func(a *Action, w []string) error {
		if err := arity(w, 1, 2); err != nil {
			return err
		}
		a.Nodes, a.Args = w[:1], []string{"fast"}
		if len(w) == 2 {
			a.Args = w[1:]
		}
		return oneOf(a.Args[0], "fast", "immediate")
	}},
	"promote": {"promote NODE", nodeOnly},
	// SIGKILL to the postmaster: a crash at a chosen point.
	"kill":          {"kill NODE", nodeOnly},
	"wait ready":    {"wait ready NODE DEADLINE", waitSpec(0)},
	"wait promoted": {"wait promoted NODE DEADLINE", waitSpec(0)},
	// Promoted, or paused at the end of recovery when a later hook or
	// step may promote it.
	"wait end-of-recovery": {"wait end-of-recovery NODE DEADLINE", waitSpec(0)},
	"wait target-shutdown": {"wait target-shutdown NODE DEADLINE", waitSpec(0)},
	"wait stopped":         {"wait stopped NODE DEADLINE", waitSpec(0)},
	"wait streaming":       {"wait streaming NODE DEADLINE", waitSpec(0)},
	"wait log": {"wait log NODE PATTERN DEADLINE", func(a *Action, w []string) error {
		if err := waitSpec(1)(a, w); err != nil {
			return err
		}
		if _, err := regexp.Compile(a.Args[0]); err != nil {
			return fmt.Errorf("PATTERN %q: %w", a.Args[0], err)
		}
		return nil
	}},
	// Until a query on the node returns true (one row, one boolean).
	"wait sql": {"wait sql NODE QUERY DEADLINE", waitSpec(1)},
	"sql": {"sql NODE SQL...", func(a *Action, w []string) error {
		if err := arity(w, 2, -1); err != nil {
			return err
		}
		a.Nodes, a.Args = w[:1], w[1:]
		return nil
	}},
	"shell": {"shell NODE postgres|root SCRIPT", func(a *Action, w []string) error {
		if err := arity(w, 3, 3); err != nil {
			return err
		}
		a.Nodes, a.User, a.Args = w[:1], w[1], w[2:]
		return oneOf(a.User, "postgres", "root")
	}},
	"exec": {"exec NODE postgres|root WORD...", func(a *Action, w []string) error {
		if err := arity(w, 3, -1); err != nil {
			return err
		}
		a.Nodes, a.User, a.Args = w[:1], w[1], w[2:]
		return oneOf(a.User, "postgres", "root")
	}},
	"backup push":  {"backup push NODE", nodeOnly},
	"backup find":  {"backup find NODE", nodeOnly},
	"backup fetch": {"backup fetch NODE", nodeOnly},
	"slot create":  {"slot create NODE NAME", slotSpec},
	"slot drop":    {"slot drop NODE NAME", slotSpec},
	"switch-wal":   {"switch-wal NODE", nodeOnly},
	// A proof from the data, and a write walstep makes: a marker row
	// committed on NODE (table walstep_marker), waited for until flushed.
	"marker write": {"marker write NODE", nodeOnly},
	// Whether the last marker written reaches NODE within the deadline:
	// the step says which, and succeeds either way (it is evidence).
	"marker check": {"marker check NODE DEADLINE", waitSpec(0)},
	// How many archive_command failures the node's log holds so far, so a
	// note about them is checked against this lab.
	"archive-failures": {"archive-failures NODE", nodeOnly},
	"say": {"say TEXT", func(a *Action, w []string) error {
		if err := arity(w, 1, 1); err != nil {
			return err
		}
		a.Args = w
		return nil
	}},
}

// twoWord are the verbs whose second word is part of the verb.
var twoWord = map[string]bool{"reset": true, "wait": true, "backup": true, "slot": true, "marker": true}

func nodeOnly(a *Action, w []string) error {
	if err := arity(w, 1, 1); err != nil {
		return err
	}
	a.Nodes = w
	return nil
}

var slotName = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

func slotSpec(a *Action, w []string) error {
	if err := arity(w, 2, 2); err != nil {
		return err
	}
	a.Nodes, a.Args = w[:1], w[1:]
	if !slotName.MatchString(w[1]) {
		return fmt.Errorf("slot name %q: use lower-case letters, digits and _", w[1])
	}
	return nil
}

// waitSpec parses NODE, extra arguments, then the deadline, which every
// wait must have.
func waitSpec(extra int) func(a *Action, w []string) error {
	return func(a *Action, w []string) error {
		if len(w) == 1+extra {
			return fmt.Errorf("no deadline: a wait ends at one, e.g. %s 60s", quoteWord(w[len(w)-1]))
		}
		if err := arity(w, 2+extra, 2+extra); err != nil {
			return err
		}
		d, err := time.ParseDuration(w[len(w)-1])
		if err != nil || d <= 0 {
			return fmt.Errorf("deadline %q: write a positive duration, e.g. 60s", w[len(w)-1])
		}
		a.Nodes, a.Args, a.Deadline = w[:1], w[1:1+extra], d
		return nil
	}
}

func arity(w []string, min, max int) error {
	switch {
	case len(w) < min:
		return fmt.Errorf("too few words")
	case max >= 0 && len(w) > max:
		return fmt.Errorf("too many words (%q and after)", w[max])
	}
	return nil
}

func oneOf(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%q: use %s", v, strings.Join(allowed, " or "))
}

func confFile(name string) error {
	if !confFiles[name] {
		return fmt.Errorf("%q: append and replace change postgresql.conf, pg_hba.conf, pg_ident.conf or postgresql.auto.conf", name)
	}
	return nil
}

func plainName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return fmt.Errorf("%q: name a file, not a path", name)
	}
	return nil
}

// parseAction reads one line of a walstep block (not blank, not a comment).
func parseAction(text string, line int) (Action, error) {
	words, err := splitWords(text)
	if err != nil {
		return Action{}, err
	}
	verb, rest := words[0], words[1:]
	if twoWord[verb] && len(rest) > 0 {
		verb, rest = verb+" "+rest[0], rest[1:]
	}
	spec, ok := vocabulary[verb]
	if !ok {
		return Action{}, fmt.Errorf("unknown action %q (see docs/playbooks.md for the vocabulary)", verb)
	}
	a := Action{Verb: verb, Line: line, words: words}
	if err := spec.parse(&a, rest); err != nil {
		return Action{}, fmt.Errorf("%s: %w (write: %s)", verb, err, spec.usage)
	}
	for _, s := range append(append([]string{}, a.Args...), a.File) {
		for _, m := range varRef.FindAllStringSubmatch(s, -1) {
			if _, ok := Variables[m[1]]; !ok && !nodeVar.MatchString(m[1]) {
				return Action{}, fmt.Errorf("%s: unknown variable ${%s}", verb, m[1])
			}
		}
	}
	return a, nil
}

// splitWords splits a line into words: blanks separate them, "…" quotes
// one (\" and \\ inside), and # outside quotes starts a comment.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in, quoted, have := false, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in && c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
			i++
			cur.WriteByte(s[i])
		case in && c == '"':
			in = false
		case in:
			cur.WriteByte(c)
		case c == '"':
			in, quoted, have = true, true, true
		case c == ' ' || c == '\t':
			if have {
				words = append(words, cur.String())
				cur.Reset()
				have, quoted = false, false
			}
		case c == '#' && !have:
			i = len(s)
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	_ = quoted
	if in {
		return nil, fmt.Errorf("unterminated quote")
	}
	if have {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("empty action")
	}
	return words, nil
}

// quoteWord writes w so that splitWords reads it back as one word.
func quoteWord(w string) string {
	if w != "" && !strings.ContainsAny(w, " \t\"\\#") {
		return w
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(w) + `"`
}

// Verbs lists every verb of the vocabulary, sorted: what a consumer of
// playbooks (an exporter) must have a form for.
func Verbs() []string {
	out := make([]string, 0, len(vocabulary))
	for v := range vocabulary {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
