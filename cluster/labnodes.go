package cluster

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
)

// NodesFile records every node a session of the lab has run, so that a
// reset, clean, the lab lock and the hostile-read checks reach each
// node's dirs and servers even when today's playbook declares fewer.
const NodesFile = ".walstep-nodes"

// maxNodesFile bounds what is read of NodesFile.
const maxNodesFile = 4096

// Topology is the servers this session runs: the one SetTopology gave,
// else the seed's.
func (l *Lab) Topology() Topology {
	if l == nil || len(l.topo) == 0 {
		return SeedTopology()
	}
	return l.topo
}

// SetTopology makes t the lab's servers for this session, after checking
// it, and adds its nodes to the ones the lab records (NodesFile). It is
// called before a backend is made for the lab: the backends take their
// nodes, ports and containers from it.
func (l *Lab) SetTopology(t Topology) error {
	if err := t.Check(); err != nil {
		return fmt.Errorf("use the playbook's nodes: %w", err)
	}
	l.topo = slices.Clone(t)
	known := l.recordedNodes()
	add := false
	for _, n := range t {
		if !slices.Contains(known, n.Name) && !slices.Contains(SeedTopology().Nodes(), n.Name) {
			known, add = append(known, n.Name), true
		}
	}
	if !add {
		return nil
	}
	var b strings.Builder
	for _, n := range known {
		b.WriteString(string(n) + "\n")
	}
	if err := writeLabFileNoFollow(l.Dir, NodesFile, []byte(b.String())); err != nil {
		return fmt.Errorf("record the lab's nodes: %w", err)
	}
	return nil
}

// KnownNodes are every node whose dirs or servers the lab may hold: the
// seed's, those recorded by earlier sessions, and this session's.
func (l *Lab) KnownNodes() []Node {
	out := SeedTopology().Nodes()
	for _, n := range append(l.recordedNodes(), l.Topology().Nodes()...) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// KnownStopOrder is KnownNodes in an order to stop them in when the
// topology they ran in may be another session's: this session's
// standbys first, then its primaries, then the nodes it does not have.
func (l *Lab) KnownStopOrder() []Node {
	out := l.Topology().StopOrder()
	for _, n := range l.KnownNodes() {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// recordedNodes reads NodesFile; names that are not node names (an edit
// by hand) are ignored, so no path outside the lab's node dirs is named.
func (l *Lab) recordedNodes() []Node {
	if l == nil || l.Dir == "" {
		return nil
	}
	b, err := ReadBelow(context.Background(), l.Dir, NodesFile, maxNodesFile)
	if err != nil {
		return nil
	}
	var out []Node
	for _, f := range strings.Fields(string(b)) {
		if CheckNodeName(f) == nil && !slices.Contains(out, Node(f)) {
			out = append(out, Node(f))
		}
	}
	return out
}

// GeneratedNames are the names (relative to the lab) of what a run
// generates, in the order a copy of the lab's state takes them: every
// known node's data and config dirs, the archive, logs/ and run/.
func (l *Lab) GeneratedNames() []string {
	var out []string
	for _, n := range l.KnownNodes() {
		out = append(out, DataDirName(n))
	}
	out = append(out, StorageDir)
	for _, n := range l.KnownNodes() {
		out = append(out, ConfigDirName(n))
	}
	return append(out, LogsDir, RunDir)
}

// writeLabFileNoFollow replaces name in the lab's own directory, never
// through a link.
func writeLabFileNoFollow(dir, name string, data []byte) error {
	tmp := dir + "/." + name + ".tmp"
	_ = os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dir+"/"+name)
}
