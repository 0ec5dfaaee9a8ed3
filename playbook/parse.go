package playbook

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"walstep/cluster"
)

// Doc is a parsed, checked playbook.
type Doc struct {
	File  string // where it was read from, for messages
	Name  string // front matter "playbook"
	Title string
	Nodes []Node
	// PresentStops are the steps presenter mode stops before, and
	// Breakpoints those the debugger stops before by default.
	PresentStops []string
	Breakpoints  []string
	Steps        []Step
}

// Node is a server the playbook declares.
type Node struct {
	Name     string
	Role     string // "primary" or "standby"
	Upstream string // for a standby, the node it follows
	Line     int
}

// Step is one heading of the playbook and what follows it.
type Step struct {
	ID      string // from the heading: "## 4a. Title"
	Number  string // the number as the reproduction writes it (number …); the ID when not given
	Parent  string // the enclosing step for a ### heading
	Title   string
	Command string // the first fenced block that is not walstep's: the reproduction's own command
	// Label is what the line just before the command says it is ("seed's"
	// for "seed's:"), "" when no such line is there.
	Label   string
	Watch   string // the paragraph after "Watch:"
	Hint    string // the paragraph after "In the debugger:"
	Actions []Action
	Line    int // the heading's
	// Source is the step's text from its heading to the next step's, so
	// an edit to it can be told from an edit elsewhere.
	Source string
}

// Resets reports whether the step puts the lab back to before every
// later step (it holds reset lab).
func (s Step) Resets() bool {
	for _, a := range s.Actions {
		if a.Verb == "reset lab" {
			return true
		}
	}
	return false
}

// Reads lists the lab files the step's actions read, without repeats.
func (s Step) Reads() []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range s.Actions {
		for _, f := range a.Reads() {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out
}

// Error is a problem at one line of a playbook.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

var (
	stepHeading = regexp.MustCompile(`^(##|###)[ \t]+([0-9A-Za-z]+)\.[ \t]+(.*?)[ \t]*#*[ \t]*$`)
	anyHeading  = regexp.MustCompile(`^(#{1,6})[ \t]+(.*)$`)
	stepID      = regexp.MustCompile(`^[0-9A-Za-z]{1,16}$`)
	fenceOpen   = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})[ \t]*([^`]*?)[ \t]*$")
)

// Parse reads and checks a playbook; file names it in messages. The first
// problem found is returned as an *Error naming file:line.
func Parse(file string, src []byte) (*Doc, error) {
	p := &parser{file: file, doc: &Doc{File: file}}
	if err := p.parse(strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return p.doc, nil
}

type parser struct {
	file string
	doc  *Doc
	// for the step being read
	cur       *Step
	hasBlock  bool
	parent    string
	curStart  int
	lines     []string
	pendingNB int // a walstep block seen under a heading that is not a step
}

func (p *parser) errf(line int, format string, a ...any) error {
	return &Error{File: p.file, Line: line, Msg: fmt.Sprintf(format, a...)}
}

func (p *parser) parse(lines []string) error {
	p.lines = lines
	i := 0
	if len(lines) > 0 && strings.TrimSpace(lines[0]) == "---" {
		end := -1
		for j := 1; j < len(lines); j++ {
			if strings.TrimSpace(lines[j]) == "---" {
				end = j
				break
			}
		}
		if end < 0 {
			return p.errf(1, "front matter has no closing ---")
		}
		if err := p.frontMatter(lines[1:end], 2); err != nil {
			return err
		}
		i = end + 1
	} else {
		return p.errf(1, "no front matter: a playbook starts with --- and declares its nodes")
	}
	var para []string // the paragraph being read, for Watch: and In the debugger:
	paraLine := 0
	lastPara := "" // the paragraph just before a fence
	flush := func() error {
		if len(para) == 0 {
			return nil
		}
		if p.cur == nil {
			para, lastPara = nil, ""
			return nil
		}
		text := strings.Join(para, " ")
		lastPara = text
		para = nil
		for _, lbl := range []struct {
			label string
			dst   *string
		}{{"Watch:", &p.cur.Watch}, {"In the debugger:", &p.cur.Hint}} {
			if t, ok := cutLabel(text, lbl.label); ok {
				if *lbl.dst != "" {
					return p.errf(paraLine, "step %s has a second %q paragraph", p.cur.ID, lbl.label)
				}
				*lbl.dst = t
			}
		}
		return nil
	}
	for ; i < len(lines); i++ {
		line := lines[i]
		n := i + 1
		if m := fenceOpen.FindStringSubmatch(line); m != nil {
			if err := flush(); err != nil {
				return err
			}
			body, end, err := p.fence(lines, i, m[1])
			if err != nil {
				return err
			}
			info := strings.Fields(m[2])
			isWalstep := len(info) > 0 && info[0] == "walstep"
			switch {
			case isWalstep && p.cur == nil:
				return p.errf(n, "missing ID: this walstep block is under no step heading (write ## ID. Title above it)")
			case isWalstep && p.hasBlock:
				return p.errf(n, "step %s has a second walstep block: one block per step holds its actions", p.cur.ID)
			case isWalstep:
				p.hasBlock = true
				if err := p.actions(body, n+1); err != nil {
					return err
				}
			case p.cur != nil && p.cur.Command == "":
				p.cur.Command = strings.Join(body, "\n")
				if l, ok := strings.CutSuffix(lastPara, ":"); ok && !strings.Contains(l, " ") && l != "" {
					p.cur.Label = l
				}
			}
			i, lastPara = end, ""
			continue
		}
		if m := anyHeading.FindStringSubmatch(line); m != nil {
			if err := flush(); err != nil {
				return err
			}
			if err := p.heading(line, n, len(m[1])); err != nil {
				return err
			}
			lastPara = ""
			continue
		}
		if strings.TrimSpace(line) == "" {
			if len(para) > 0 {
				if err := flush(); err != nil {
					return err
				}
			}
			continue
		}
		if len(para) == 0 {
			paraLine = n
		}
		para = append(para, strings.TrimSpace(line))
	}
	if err := flush(); err != nil {
		return err
	}
	return p.endStep(len(lines) + 1)
}

// cutLabel returns text after label when text starts with it, plain or
// in bold (**Watch:** …).
func cutLabel(text, label string) (string, bool) {
	for _, pre := range []string{label, "**" + label + "**", "*" + label + "*"} {
		if t, ok := strings.CutPrefix(text, pre); ok {
			return strings.TrimSpace(t), true
		}
	}
	return "", false
}

// fence returns a fenced block's lines and the index of its closing line.
func (p *parser) fence(lines []string, i int, open string) ([]string, int, error) {
	for j := i + 1; j < len(lines); j++ {
		t := strings.TrimSpace(lines[j])
		if len(t) >= len(open) && strings.Trim(t, open[:1]) == "" && len(lines[j])-len(strings.TrimLeft(lines[j], " ")) <= 3 {
			return lines[i+1 : j], j, nil
		}
	}
	return nil, 0, p.errf(i+1, "this fenced block is never closed (%s)", open)
}

// heading starts a step (## ID. Title, ### ID. Title) or, for any other
// heading, ends the one being read.
func (p *parser) heading(line string, n, level int) error {
	if err := p.endStep(n); err != nil {
		return err
	}
	m := stepHeading.FindStringSubmatch(line)
	if m == nil {
		if level == 2 {
			p.parent = ""
		}
		return nil
	}
	st := &Step{ID: m[2], Title: strings.TrimSpace(m[3]), Line: n}
	if !stepID.MatchString(st.ID) {
		return p.errf(n, "step ID %q: use up to 16 letters and digits", st.ID)
	}
	if st.Title == "" {
		return p.errf(n, "step %s has no title", st.ID)
	}
	if m[1] == "###" {
		if p.parent == "" {
			return p.errf(n, "step %s is a ### sub-step under no ## step", st.ID)
		}
		st.Parent = p.parent
	} else {
		p.parent = st.ID
	}
	p.cur, p.hasBlock, p.curStart = st, false, n
	return nil
}

// endStep files the step being read; n is the line that ends it.
func (p *parser) endStep(n int) error {
	st := p.cur
	if st == nil {
		return nil
	}
	p.cur = nil
	if !p.hasBlock {
		return p.errf(st.Line, "step %s has no walstep block: write what it does in ```walstep … ```", st.ID)
	}
	if st.Number == "" {
		st.Number = st.ID
	}
	st.Source = strings.Join(p.lines[p.curStart-1:min(n-1, len(p.lines))], "\n")
	p.doc.Steps = append(p.doc.Steps, *st)
	return nil
}

// actions reads a walstep block whose first line is first.
func (p *parser) actions(body []string, first int) error {
	for k, raw := range body {
		n := first + k
		t := strings.TrimSpace(raw)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if v, ok := strings.CutPrefix(t, "number "); ok {
			v = strings.TrimSpace(v)
			if v != "-" && !stepID.MatchString(v) {
				return p.errf(n, "number %q: write the reproduction's own number for the step, or -", v)
			}
			p.cur.Number = v
			continue
		}
		a, err := parseAction(t, n)
		if err != nil {
			return p.errf(n, "%v", err)
		}
		p.cur.Actions = append(p.cur.Actions, a)
	}
	return nil
}

// frontMatter reads the lines between the --- fences: key: value, and
// for nodes an indented name: role list.
func (p *parser) frontMatter(lines []string, first int) error {
	inNodes := false
	for k, raw := range lines {
		n := first + k
		if strings.TrimSpace(raw) == "" || strings.HasPrefix(strings.TrimSpace(raw), "#") {
			continue
		}
		indented := raw[0] == ' ' || raw[0] == '\t'
		key, val, ok := strings.Cut(strings.TrimSpace(raw), ":")
		if !ok {
			return p.errf(n, "front matter: write key: value")
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if indented {
			if !inNodes {
				return p.errf(n, "front matter: an indented line belongs under nodes:")
			}
			if err := p.node(key, val, n); err != nil {
				return err
			}
			continue
		}
		inNodes = false
		switch key {
		case "playbook":
			p.doc.Name = val
		case "title":
			p.doc.Title = val
		case "nodes":
			if val != "" {
				return p.errf(n, "front matter: list the nodes on the lines under nodes:, one name: role each")
			}
			inNodes = true
		case "present-stops":
			p.doc.PresentStops = strings.Fields(strings.ReplaceAll(val, ",", " "))
		case "breakpoints":
			p.doc.Breakpoints = strings.Fields(strings.ReplaceAll(val, ",", " "))
		default:
			return p.errf(n, "front matter: unknown key %q (playbook, title, nodes, present-stops, breakpoints)", key)
		}
	}
	return nil
}

func (p *parser) node(name, role string, n int) error {
	if err := cluster.CheckNodeName(name); err != nil {
		return p.errf(n, "%v", err)
	}
	if len(p.doc.Nodes) == cluster.MaxNodes {
		return p.errf(n, "node %s: walstep runs at most %d nodes", name, cluster.MaxNodes)
	}
	for _, d := range p.doc.Nodes {
		if d.Name == name {
			return p.errf(n, "node %s declared twice", name)
		}
	}
	nd := Node{Name: name, Line: n}
	switch f := strings.Fields(role); {
	case len(f) == 1 && f[0] == "primary":
		nd.Role = "primary"
	case len(f) == 3 && f[0] == "standby" && f[1] == "of":
		nd.Role, nd.Upstream = "standby", f[2]
	default:
		return p.errf(n, "node %s: role %q: write primary, or standby of NODE", name, role)
	}
	p.doc.Nodes = append(p.doc.Nodes, nd)
	return nil
}

// check validates what needs the whole document: IDs, nodes, stops.
func (p *parser) check() error {
	d := p.doc
	if len(d.Nodes) == 0 {
		return p.errf(1, "the front matter declares no nodes (nodes:, then one name: role per line)")
	}
	declared := map[string]bool{}
	for _, nd := range d.Nodes {
		declared[nd.Name] = true
	}
	for _, nd := range d.Nodes {
		if nd.Upstream != "" && (!declared[nd.Upstream] || nd.Upstream == nd.Name) {
			return p.errf(nd.Line, "node %s follows %s, which is not another declared node", nd.Name, nd.Upstream)
		}
	}
	if err := d.Topology().Check(); err != nil {
		return p.errf(d.Nodes[0].Line, "%v", err)
	}
	if len(d.Steps) == 0 {
		return p.errf(1, "no steps: write one heading per step, ## ID. Title")
	}
	ids := map[string]int{}
	for _, st := range d.Steps {
		if l, dup := ids[st.ID]; dup {
			return p.errf(st.Line, "duplicate step ID %s (first at line %d)", st.ID, l)
		}
		ids[st.ID] = st.Line
		for _, a := range st.Actions {
			for _, n := range a.Nodes {
				if !declared[n] {
					return p.errf(a.Line, "%s: node %q is not declared in the front matter", a.Verb, n)
				}
			}
			for _, n := range a.NodeRefs() {
				if !declared[n] {
					return p.errf(a.Line, "%s: ${host:%s} or ${port:%s} names a node the front matter does not declare", a.Verb, n, n)
				}
			}
			if a.Verb == "wait streaming" && d.UpstreamAt(a.Line, a.Node()) == "" {
				return p.errf(a.Line, "wait streaming: node %s follows no node (declare it as standby of NODE, or repoint it to one before)", a.Node())
			}
		}
	}
	for _, list := range [][]string{d.PresentStops, d.Breakpoints} {
		for _, id := range list {
			if _, ok := ids[id]; !ok {
				return p.errf(frontLine(p.lines, id), "front matter names step %s, which the playbook does not have", id)
			}
		}
	}
	return p.checkStops()
}

// checkStops refuses a server started that nothing stops: a later stop,
// a shutdown waited for, or a reset lab (which stops every server at the
// next pass).
func (p *parser) checkStops() error {
	for _, st := range p.doc.Steps {
		if st.Resets() {
			return nil
		}
	}
	for i, st := range p.doc.Steps {
		for ai, a := range st.Actions {
			for _, n := range a.Starts() {
				if !stoppedAfter(p.doc.Steps, i, ai, n) {
					return p.errf(a.Line, "step %s starts %s and no later step stops it (stop %s, or a reset lab step)", st.ID, n, n)
				}
			}
		}
	}
	return nil
}

func stoppedAfter(steps []Step, i, ai int, node string) bool {
	for j := i; j < len(steps); j++ {
		for k, a := range steps[j].Actions {
			if (j > i || k > ai) && a.Stops(node) {
				return true
			}
		}
	}
	return false
}

func upstream(d *Doc, node string) string {
	for _, nd := range d.Nodes {
		if nd.Name == node {
			return nd.Upstream
		}
	}
	return ""
}

// Upstream is the node that node follows, "" for none.
func (d *Doc) Upstream(node string) string { return upstream(d, node) }

// Topology is the declared nodes as the backends run them.
func (d *Doc) Topology() cluster.Topology {
	t := make(cluster.Topology, len(d.Nodes))
	for i, n := range d.Nodes {
		t[i] = cluster.NodeSpec{Name: cluster.Node(n.Name), Upstream: cluster.Node(n.Upstream)}
	}
	return t
}

// frontLine finds the front matter line naming id, else 1.
func frontLine(lines []string, id string) int {
	for i, l := range lines {
		if i > 0 && strings.TrimSpace(l) == "---" {
			break
		}
		for _, f := range strings.Fields(strings.ReplaceAll(l, ",", " ")) {
			if f == id {
				return i + 1
			}
		}
	}
	return 1
}

// Index is the position of step id, -1 when absent.
func (d *Doc) Index(id string) int {
	for i, s := range d.Steps {
		if s.ID == id {
			return i
		}
	}
	return -1
}

// ErrNotFound is returned for a built-in playbook that does not exist.
var ErrNotFound = errors.New("no such built-in playbook")
