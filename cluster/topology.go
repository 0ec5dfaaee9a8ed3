package cluster

import (
	"fmt"
	"regexp"
	"slices"
)

// NodeSpec is one server of a lab: its name and the node it follows as a
// standby ("" for a primary).
type NodeSpec struct {
	Name     Node
	Upstream Node
}

// Topology is the servers a session runs, in the playbook's order. Each
// node has its own data dir (<name>-data), config dir (<name>-config),
// log (logs/<name>.log), port or container (<prefix>-<name>), so the
// seed's primary and replica keep the paths they always had.
type Topology []NodeSpec

// MaxNodes is how many servers a lab runs at most.
const MaxNodes = 4

// nodeName is a name usable as a directory prefix, a container name and
// a network alias (a DNS label) alike.
var nodeName = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)

// CheckNodeName refuses a name a backend could not use for a server.
func CheckNodeName(name string) error {
	if !nodeName.MatchString(name) {
		return fmt.Errorf("node name %q: use a lower-case letter, then up to 15 lower-case letters or digits", name)
	}
	return nil
}

// SeedTopology is the seed's two servers: a primary and its replica.
func SeedTopology() Topology {
	return Topology{{Name: Primary}, {Name: Replica, Upstream: Primary}}
}

// Check refuses a topology no backend can run: no node or more than
// MaxNodes, a bad or repeated name, an upstream that is not another node,
// or standbys that follow each other in a circle.
func (t Topology) Check() error {
	if len(t) == 0 || len(t) > MaxNodes {
		return fmt.Errorf("%d nodes: walstep runs one to %d", len(t), MaxNodes)
	}
	for i, n := range t {
		if err := CheckNodeName(string(n.Name)); err != nil {
			return err
		}
		if slices.ContainsFunc(t[:i], func(o NodeSpec) bool { return o.Name == n.Name }) {
			return fmt.Errorf("node %s is declared twice", n.Name)
		}
	}
	for _, n := range t {
		if n.Upstream != "" && (n.Upstream == n.Name || !t.Has(n.Upstream)) {
			return fmt.Errorf("node %s follows %s, which is not another node", n.Name, n.Upstream)
		}
		if t.depth(n.Name) < 0 {
			return fmt.Errorf("node %s follows itself through its upstreams: one node must be a primary", n.Name)
		}
	}
	return nil
}

// Nodes lists the nodes in order.
func (t Topology) Nodes() []Node {
	out := make([]Node, len(t))
	for i, n := range t {
		out[i] = n.Name
	}
	return out
}

// Has reports whether n is one of the nodes.
func (t Topology) Has(n Node) bool {
	return slices.ContainsFunc(t, func(s NodeSpec) bool { return s.Name == n })
}

// Upstream is the node n follows, "" for a primary or a node not there.
func (t Topology) Upstream(n Node) Node {
	for _, s := range t {
		if s.Name == n {
			return s.Upstream
		}
	}
	return ""
}

// Primary is the first node that follows none (the one the archiver's
// client settings name), else the first node.
func (t Topology) Primary() Node {
	for _, s := range t {
		if s.Upstream == "" {
			return s.Name
		}
	}
	if len(t) > 0 {
		return t[0].Name
	}
	return Primary
}

// StopOrder is the order to stop the servers in: every standby before the
// node it follows (deepest first), so no wal receiver knocks on an
// upstream that is shutting down (which leaves "the database system is
// shutting down" in both logs).
func (t Topology) StopOrder() []Node {
	out := t.Nodes()
	slices.SortStableFunc(out, func(a, b Node) int { return t.depth(b) - t.depth(a) })
	return out
}

// depth is how many upstreams n has above it; -1 on a circle.
func (t Topology) depth(n Node) int {
	d := 0
	for u := t.Upstream(n); u != ""; u = t.Upstream(u) {
		if d++; d > len(t) {
			return -1
		}
	}
	return d
}

// DataDirName is node's data directory in the lab (the seed's
// primary-data, replica-data).
func DataDirName(n Node) string { return string(n) + "-data" }

// ConfigDirName is node's config directory in the lab (its include_dir:
// the seed's primary-config, replica-config).
func ConfigDirName(n Node) string { return string(n) + "-config" }

// LogName is node's server log in the lab's logs/ directory.
func LogName(n Node) string { return string(n) + ".log" }
