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
// it, and records its nodes other than the seed's, each with the node it
// follows (NodesFile), beside those earlier sessions recorded. It is
// called before a backend is made for the lab: the backends take their
// nodes, ports and containers from it.
func (l *Lab) SetTopology(t Topology) error {
	if err := t.Check(); err != nil {
		return fmt.Errorf("use the playbook's nodes: %w", err)
	}
	l.topo = slices.Clone(t)
	rec := l.recorded()
	changed := false
	for _, n := range t {
		if SeedTopology().Has(n.Name) {
			continue
		}
		i := slices.IndexFunc(rec, func(r NodeSpec) bool { return r.Name == n.Name })
		switch {
		case i < 0:
			rec, changed = append(rec, n), true
		case rec[i].Upstream != n.Upstream:
			rec[i], changed = n, true
		}
	}
	if !changed {
		return nil
	}
	var b strings.Builder
	for _, n := range rec {
		b.WriteString(strings.TrimSpace(string(n.Name)+" "+string(n.Upstream)) + "\n")
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
	for _, n := range append(l.recorded().Nodes(), l.Topology().Nodes()...) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// KnownStopOrder is KnownNodes in an order to stop them in when the
// topology they ran in may be another session's: this session's in its
// stop order, then the others standbys first as they were recorded, then
// the seed's.
func (l *Lab) KnownStopOrder() []Node {
	out := l.Topology().StopOrder()
	rec := l.recorded()
	for i := range rec {
		if !rec.Has(rec[i].Upstream) {
			rec[i].Upstream = "" // it followed a node not recorded
		}
	}
	for _, n := range append(rec.StopOrder(), SeedTopology().StopOrder()...) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// recorded reads NodesFile: one node a line, with the node it followed.
// Names that are not node names (an edit by hand) are ignored, so no path
// outside the lab's node dirs is named.
func (l *Lab) recorded() Topology {
	if l == nil || l.Dir == "" {
		return nil
	}
	b, err := ReadBelow(context.Background(), l.Dir, NodesFile, maxNodesFile)
	if err != nil {
		return nil
	}
	var out Topology
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || len(f) > 2 || CheckNodeName(f[0]) != nil || out.Has(Node(f[0])) {
			continue
		}
		n := NodeSpec{Name: Node(f[0])}
		if len(f) == 2 && CheckNodeName(f[1]) == nil && f[1] != f[0] {
			n.Upstream = Node(f[1])
		}
		out = append(out, n)
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
