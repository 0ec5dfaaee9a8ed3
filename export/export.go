package export

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"walstep/cluster"
	"walstep/pg"
	"walstep/playbook"
)

// Options say what to export.
type Options struct {
	Doc *playbook.Doc
	// Lab holds the conf files copy-conf copies (its primary_restore.conf
	// and the others, as edited), embedded in what is written.
	Lab *cluster.Lab
	// Expect is the outcome to assert: pg.VerdictDiverged or
	// pg.VerdictHealthy.
	Expect pg.Verdict
	// Docker makes Script drive the docker CLI instead of local binaries.
	Docker bool
	// Image is the server image of the Docker form.
	Image string
}

// MarkerWait is how long an export looks for the marker row on a
// diverged standby after its upstream flushed it: long enough for a
// streaming standby here to replay it many times over (it takes well
// under a second), short enough for CI.
const MarkerWait = 10 * time.Second

// outcome is the standby whose streaming the playbook waits for, and its
// upstream: where the assertions look. origin is the top of the
// standby's chain of upstreams (its upstream but in a cascade), where a
// marker row can be written.
type outcome struct {
	standby, upstream, origin string
	deadline                  time.Duration
	step                      string
	// proofStep, proofAction locate the playbook's own proof: the last
	// marker check on the standby after the outcome, of a marker written
	// on its upstream; proofStep is -1 when there is none, and the
	// assertions write a marker of their own.
	proofStep, proofAction int
}

// isProof reports whether action ai of step si is the playbook's proof.
func (o outcome) isProof(si, ai int) bool {
	return o.proofStep >= 0 && si == o.proofStep && ai == o.proofAction
}

// proofOf finds the playbook's proof for out (see outcome.proofStep).
func proofOf(doc *playbook.Doc, out outcome) (int, int) {
	si, ai := -1, -1
	after := false
	for i, st := range doc.Steps {
		for j, a := range st.Actions {
			switch {
			case a.Verb == "wait streaming" && a.Node() == out.standby:
				after, si, ai = true, -1, -1
			case after && a.Verb == "marker check" && a.Node() == out.standby && markerNode(doc, i, j) == out.origin:
				si, ai = i, j
			}
		}
	}
	return si, ai
}

// check refuses what cannot be exported: an outcome other than the two an
// export asserts, or a playbook that never waits for a standby to stream.
func check(o Options) (outcome, error) {
	if o.Doc == nil {
		return outcome{}, fmt.Errorf("export: no playbook")
	}
	if o.Expect != pg.VerdictDiverged && o.Expect != pg.VerdictHealthy {
		return outcome{}, fmt.Errorf("export: the outcome to assert is %q: an export asserts diverged or healthy", o.Expect)
	}
	var out outcome
	for _, st := range o.Doc.Steps {
		for _, a := range st.Actions {
			if a.Verb == "wait streaming" {
				out = outcome{standby: a.Node(), upstream: o.Doc.UpstreamAt(a.Line, a.Node()), deadline: a.Deadline, step: st.ID}
			}
		}
	}
	if out.standby == "" {
		return outcome{}, fmt.Errorf("export: playbook %s never waits for a standby to stream (wait streaming NODE DEADLINE), so there is no outcome to assert", o.Doc.Name)
	}
	if out.upstream == "" {
		return outcome{}, fmt.Errorf("export: %s, which step %s waits on, is not declared a standby of a node", out.standby, out.step)
	}
	out.origin = out.upstream
	for i := 0; i < len(o.Doc.Nodes) && o.Doc.Upstream(out.origin) != ""; i++ {
		out.origin = o.Doc.Upstream(out.origin)
	}
	out.proofStep, out.proofAction = proofOf(o.Doc, out)
	for _, st := range o.Doc.Steps {
		for _, a := range st.Actions {
			if _, ok := tapForms[a.Verb]; !ok {
				return outcome{}, fmt.Errorf("export: step %s: no TAP form for %s", st.ID, a.Verb)
			}
			if _, ok := shellForms[a.Verb]; !ok {
				return outcome{}, fmt.Errorf("export: step %s: no shell form for %s", st.ID, a.Verb)
			}
		}
	}
	return out, nil
}

// piece is a literal run of an action's string or a ${variable} in it.
type piece struct {
	text  string
	isVar bool
}

var varRef = regexp.MustCompile(`\$\{([a-z_]+)\}`)

// pieces splits s into literals and variable references.
func pieces(s string) []piece {
	var out []piece
	last := 0
	for _, m := range varRef.FindAllStringSubmatchIndex(s, -1) {
		if m[0] > last {
			out = append(out, piece{text: s[last:m[0]]})
		}
		out = append(out, piece{text: s[m[2]:m[3]], isVar: true})
		last = m[1]
	}
	if last < len(s) || len(out) == 0 {
		out = append(out, piece{text: s[last:]})
	}
	return out
}

// fillPrimary replaces the lab files' ${PRIMARY_HOST} and ${PRIMARY_PORT}
// with host and port, outside comments, as walstep's copy does.
func fillPrimary(text, host, port string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		lines[i] = strings.NewReplacer("${PRIMARY_HOST}", host, "${PRIMARY_PORT}", port).Replace(l)
	}
	return strings.Join(lines, "\n")
}

// wrap breaks prose into comment lines of at most width characters.
func wrap(prefix, text string, width int) []string {
	var out []string
	line := prefix
	for _, w := range strings.Fields(text) {
		if len(line)+1+len(w) > width && line != prefix {
			out = append(out, line)
			line = prefix
		}
		if line == prefix {
			line += w
		} else {
			line += " " + w
		}
	}
	if line != prefix {
		out = append(out, line)
	}
	return out
}

// seconds is a deadline in whole seconds, at least 1.
func seconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// refusals are the standby log lines that mean its upstream or its own
// recovery refused the timeline it was asked to follow.
const refusals = `requested starting point .* is ahead of the WAL flush position|could not receive data from WAL stream|could not start WAL streaming|forked off current database system timeline|does not contain minimum recovery point|is not in this server's history|is not a child of this server's history`

// backupPusher is the node whose backup a fetch restores: the last one
// pushed before it, or the first primary.
func backupPusher(doc *playbook.Doc, stepIdx, actIdx int) string {
	node := ""
	for i, st := range doc.Steps {
		for j, a := range st.Actions {
			if i > stepIdx || (i == stepIdx && j >= actIdx) {
				break
			}
			if a.Verb == "backup push" {
				node = a.Node()
			}
		}
	}
	if node == "" {
		for _, n := range doc.Nodes {
			if n.Role == "primary" {
				return n.Name
			}
		}
	}
	return node
}

// upstreamOf is the node a copied conf's ${PRIMARY_HOST} names for node.
func upstreamOf(doc *playbook.Doc, node string) string {
	if u := doc.Upstream(node); u != "" {
		return u
	}
	for _, n := range doc.Nodes {
		if n.Role == "primary" {
			return n.Name
		}
	}
	return node
}

// markerStep is the step of the last marker write before action ai of
// step si: the marker id both exports use.
func markerStep(doc *playbook.Doc, si, ai int) string {
	id, _ := lastMarker(doc, si, ai)
	return id
}

// markerNode is the node the last marker before action ai of step si was
// written on.
func markerNode(doc *playbook.Doc, si, ai int) string {
	_, node := lastMarker(doc, si, ai)
	return node
}

func lastMarker(doc *playbook.Doc, si, ai int) (step, node string) {
	for i, st := range doc.Steps {
		for j, a := range st.Actions {
			if i > si || (i == si && j >= ai) {
				return step, node
			}
			if a.Verb == "marker write" {
				step, node = st.ID, a.Node()
			}
		}
	}
	return step, node
}
