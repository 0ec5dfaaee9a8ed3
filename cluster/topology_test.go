package cluster

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The seed's topology keeps the seed's paths; a cascade stops deepest
// first.
func TestTopologyOrderAndNames(t *testing.T) {
	seed := SeedTopology()
	if err := seed.Check(); err != nil {
		t.Fatal(err)
	}
	if got := seed.StopOrder(); !slices.Equal(got, []Node{Replica, Primary}) {
		t.Errorf("seed stop order %v", got)
	}
	if DataDirName(Primary) != PrimaryData || DataDirName(Replica) != ReplicaData || ConfigDirName(Primary) != PrimaryConfig || ConfigDirName(Replica) != ReplicaConfig {
		t.Error("the seed's dirs are not the lab's old names")
	}
	cascade := Topology{{Name: "a"}, {Name: "c", Upstream: "b"}, {Name: "b", Upstream: "a"}}
	if err := cascade.Check(); err != nil {
		t.Fatal(err)
	}
	if got := cascade.StopOrder(); !slices.Equal(got, []Node{"c", "b", "a"}) {
		t.Errorf("cascade stop order %v, want c b a", got)
	}
	if cascade.Primary() != "a" || cascade.Upstream("c") != "b" {
		t.Errorf("primary %s, upstream of c %s", cascade.Primary(), cascade.Upstream("c"))
	}
	for _, bad := range []Topology{
		nil,
		{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}, {Name: "e"}},
		{{Name: "A"}},
		{{Name: "a"}, {Name: "a"}},
		{{Name: "a", Upstream: "z"}},
		{{Name: "a", Upstream: "b"}, {Name: "b", Upstream: "a"}},
	} {
		if err := bad.Check(); err == nil {
			t.Errorf("%v passes the check", bad)
		}
	}
}

// A lab records the nodes a session ran, so that a reset and clean reach
// their dirs when a later session runs the seed.
func TestLabRecordsNodesForReset(t *testing.T) {
	lab := labT(t)
	three := Topology{{Name: "a"}, {Name: "b", Upstream: "a"}, {Name: "c", Upstream: "a"}}
	if err := lab.SetTopology(three); err != nil {
		t.Fatal(err)
	}
	again, err := OpenLab(lab.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.Topology(); !slices.Equal(got, SeedTopology()) {
		t.Errorf("a new session's topology %v, want the seed's until it sets one", got)
	}
	if got := again.KnownNodes(); !slices.Equal(got, []Node{Primary, Replica, "a", "b", "c"}) {
		t.Errorf("known nodes %v", got)
	}
	order := again.KnownStopOrder()
	if a := slices.Index(order, "a"); a < slices.Index(order, "b") || a < slices.Index(order, "c") {
		t.Errorf("stop order %v: a recorded primary stops after its recorded standbys", order)
	}
	for _, n := range []Node{"a", "b", "c"} {
		labWriteFile(t, again.Path(DataDirName(n), "PG_VERSION"), "15\n")
		labWriteFile(t, again.Path(ConfigDirName(n), "x.conf"), "\n")
	}
	if err := again.Reset(nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []Node{"a", "b", "c"} {
		for _, d := range []string{DataDirName(n), ConfigDirName(n)} {
			if _, err := os.Lstat(again.Path(d)); !os.IsNotExist(err) {
				t.Errorf("reset left %s", d)
			}
		}
	}
	// A hand edit naming a path is not a node: nothing outside the node
	// dirs is named.
	if err := os.WriteFile(filepath.Join(lab.Dir, NodesFile), []byte("a\n../x\nB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range again.GeneratedNames() {
		if strings.Contains(name, "..") || strings.Contains(name, "B") {
			t.Errorf("generated name %q from a hand edit", name)
		}
	}
}

// A sentence names the seed's servers by role and any other by name.
func TestNodeThe(t *testing.T) {
	for n, want := range map[Node]string{Primary: "the primary", Replica: "the replica", "a": "server a"} {
		if got := n.The(); got != want {
			t.Errorf("%s: %q, want %q", n, got, want)
		}
	}
}
