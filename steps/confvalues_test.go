package steps

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"walstep/cluster"
)

// pathsBackend says each node's address as Docker does: its name, 5432.
type pathsBackend struct{ cluster.Backend }

func (pathsBackend) Paths(n cluster.Node) cluster.ServerPaths {
	return cluster.ServerPaths{Host: string(n), Port: "5432"}
}

// ${PRIMARY_HOST} is the node the copying node follows (the first primary
// for one that follows none); ${host:N} any node's; a node the playbook
// does not declare fails the copy before anything is written.
func TestConfPlaceholders(t *testing.T) {
	lab, err := cluster.InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	if err := lab.SetTopology(cluster.Topology{{Name: "a"}, {Name: "b", Upstream: "a"}, {Name: "c", Upstream: "b"}}); err != nil {
		t.Fatal(err)
	}
	env := &Env{Lab: lab, Backend: pathsBackend{}}
	for node, want := range map[cluster.Node]string{"c": "b", "b": "a", "a": "a"} {
		if got := confValues(env, node)["${PRIMARY_HOST}"]; got != want {
			t.Errorf("${PRIMARY_HOST} for %s: %q, want %q", node, got, want)
		}
	}
	if v := confValues(env, "a"); v["${host:c}"] != "c" || v["${port:c}"] != "5432" {
		t.Errorf("any node's: %v", v)
	}
	if err := os.WriteFile(lab.Path("x.conf"), []byte("primary_conninfo = 'host=${host:z}'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = CopyConf(context.Background(), env, "c", "x.conf", io.Discard)
	if err == nil || !strings.Contains(err.Error(), "${host:z} names a node this playbook does not declare (it has a, b, c)") {
		t.Errorf("copy naming an undeclared node: %v", err)
	}
}
