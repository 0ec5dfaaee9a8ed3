package pg

import (
	"context"
	"io"
	"strings"
	"testing"

	"walstep/cluster"
)

// userEnv records who each command runs as and where it stages; it runs
// nothing (the real runs are in e2e_wal_test.go and e2e_hostile_wal_test.go).
type userEnv struct {
	scratch string
	users   []string
	bases   []string
}

func (e *userEnv) Paths(cluster.Node) cluster.ServerPaths {
	return cluster.ServerPaths{Data: "/lab/d", Storage: "/lab/storage"}
}
func (e *userEnv) ConnString(cluster.Node) string { return "" }
func (e *userEnv) Exec(_ context.Context, _ cluster.Node, user string, argv []string, _ io.Writer) error {
	e.users = append(e.users, user)
	e.bases = append(e.bases, argv[4]) // sh -c script sh BASE ...
	return nil
}
func (e *userEnv) ServerScratch() (string, error) { return e.scratch, nil }

// pg_waldump and WAL-G's wal-fetch open files in pg_wal and the archive,
// which the server user may swap for links at any moment: they run as
// that user, staging in the directory it owns, whatever TempDir says.
func TestReadWALAtForkRunsAsServerUser(t *testing.T) {
	env := &userEnv{scratch: "/lab/run/staging"}
	s := Snapshot{Nodes: SeedNodes(Reading{Up: true, Timeline: 2, FlushLSN: mustLSN("0/3000100")}, Reading{})}
	d := Diagnosis{ForkLSN: mustLSN("0/2000100"), ForkParent: 1, ForkTimeline: 2, ReplicaTimeline: 1, ReplicaLSN: mustLSN("0/3000000")}
	ReadWALAtFork(context.Background(), env, s, d, WALOptions{TempDir: "/lab/run", Names: func(context.Context, []RelFile) (map[RelFile]string, error) { return nil, nil }})
	if len(env.users) != 2 {
		t.Fatalf("%d commands run, want 2 (the old timeline, the new one)", len(env.users))
	}
	for i, u := range env.users {
		if u != "postgres" {
			t.Errorf("command %d runs as %q, want postgres", i, u)
		}
		if env.bases[i] != env.scratch {
			t.Errorf("command %d stages in %q, want the server user's %q", i, env.bases[i], env.scratch)
		}
	}
}

// nodeEnv records on which node each command runs and whose connection
// names the relations.
type nodeEnv struct {
	ran, conns []cluster.Node
}

func (e *nodeEnv) Paths(cluster.Node) cluster.ServerPaths {
	return cluster.ServerPaths{Data: "/lab/d", Storage: "/lab/storage"}
}
func (e *nodeEnv) ConnString(n cluster.Node) string { e.conns = append(e.conns, n); return "" }
func (e *nodeEnv) Exec(_ context.Context, n cluster.Node, _ string, _ []string, _ io.Writer) error {
	e.ran = append(e.ran, n)
	return nil
}

// With three nodes the WAL at the fork is the diverged standby's against
// the node it follows: c's past the fork, b's new timeline, the
// relations named on b; never the seed's primary and replica.
func TestReadWALAtForkOfTheDivergedStandby(t *testing.T) {
	env := &nodeEnv{}
	s := Snapshot{Nodes: []Reading{{Node: "a"}, {Node: "b", Up: true, Timeline: 2, FlushLSN: mustLSN("0/5000100")}, {Node: "c", Up: true, Upstream: "b"}}}
	d := Diagnosis{Standby: "c", Upstream: "b", ForkLSN: mustLSN("0/30000A0"), ForkParent: 1, ForkTimeline: 2, ReplicaTimeline: 1, ReplicaLSN: mustLSN("0/5000000")}
	w := ReadWALAtFork(context.Background(), env, s, d, WALOptions{})
	if len(env.ran) != 2 || env.ran[0] != "c" || env.ran[1] != "b" {
		t.Errorf("pg_waldump ran on %v, want c (past the fork) then b (the new timeline)", env.ran)
	}
	if len(env.conns) != 1 || env.conns[0] != "b" {
		t.Errorf("relations named on %v, want b", env.conns)
	}
	if w.Standby != "c" || w.Upstream != "b" || w.Note != "" {
		t.Errorf("read of %q against %q, note %q", w.Standby, w.Upstream, w.Note)
	}
	w.Total, w.Records = 2, []WALRecord{{LSN: mustLSN("0/30000A0"), Rmgr: "XLOG", Type: "SWITCH"}, {LSN: mustLSN("0/4000028"), Rmgr: "XLOG", Type: "CHECKPOINT_SHUTDOWN"}}
	if got := w.describeSentence(); !strings.HasPrefix(got, "Standby c replayed 2 records of timeline 1 past the fork") {
		t.Errorf("sentence %q", got)
	}
	// Run as a primary there (two promotions), c wrote them.
	w.Wrote = true
	if got := w.describeSentence(); !strings.HasPrefix(got, "Standby c wrote, as a primary, 2 records of timeline 1 past the fork") {
		t.Errorf("sentence of records c wrote %q", got)
	}
}
