package pg

import (
	"strings"
	"testing"
)

// renamed is s with its seed nodes renamed to a (primary) and b (its
// standby).
func renamed(s Snapshot) Snapshot {
	s.Nodes[0].Node, s.Nodes[1].Node, s.Nodes[1].Upstream = "a", "b", "a"
	for i := range s.Nodes[1].LogTail {
		s.Nodes[1].LogTail[i] = strings.ReplaceAll(s.Nodes[1].LogTail[i], "replica", "b")
	}
	return s
}

// With three nodes each standby is judged against the node it follows:
// b streams healthy from a, c replayed timeline 1 past a's fork; the
// verdict is c's, named, and each standby's is listed.
func TestDiagnoseEachStandby(t *testing.T) {
	s := renamed(loadSnap(t, "healthy_end.json"))
	c := s.Nodes[1]
	c.Node, c.Receiver, c.Role, c.Timeline, c.TLISource = "c", nil, RoleStandbyNoStream, 1, SrcRestored
	c.ReplayLSN, c.ReceiveLSN, c.LogTail = mustLSN("0/3000100"), InvalidLSN, nil
	s.Nodes = append(s.Nodes, c)
	d := Diagnose(DiagnoseInput{Snapshot: s})
	if d.Verdict != VerdictDiverged || d.Standby != "c" || d.Upstream != "a" {
		t.Fatalf("verdict %s on %q against %q, want diverged on c against a: %s", d.Verdict, d.Standby, d.Upstream, d.Explanation)
	}
	for _, want := range []string{"c is diverged (of 2 standbys, judged against a)", "standby c has replayed timeline 1 up to 0/3000100", "b healthy (following a)"} {
		if !strings.Contains(d.Explanation, want) {
			t.Errorf("explanation lacks %q:\n%s", want, d.Explanation)
		}
	}
	if strings.Contains(d.Explanation, "replica") {
		t.Errorf("explanation calls a node the replica:\n%s", d.Explanation)
	}
	if len(d.Standbys) != 2 || d.Standbys[0].Verdict != VerdictHealthy || d.Standbys[1].Verdict != VerdictDiverged {
		t.Errorf("standbys %+v", d.Standbys)
	}

	// c healthy too: the verdict says all standbys follow.
	s.Nodes = s.Nodes[:2]
	d = Diagnose(DiagnoseInput{Snapshot: s})
	if d.Verdict != VerdictHealthy || !strings.Contains(d.Explanation, "Standby b streams from primary a") {
		t.Errorf("two nodes a, b: %s: %s", d.Verdict, d.Explanation)
	}
}

// A cascade: c follows b, found from c's wal receiver (b's address), not
// from the playbook, which says a.
func TestUpstreamFromReceiver(t *testing.T) {
	s := Snapshot{Nodes: []Reading{{Node: "a"}, {Node: "b", Upstream: "a"}, {Node: "c", Upstream: "a",
		Receiver: &WalReceiver{SenderHost: "127.0.0.1", SenderPort: 5002}}, {Node: "d", Upstream: "a", ConnHost: "b", ConnPort: "5432"}}}
	s.resolveUpstreams(map[string]string{"a": "127.0.0.1:5001", "b": "127.0.0.1:5002", "c": "127.0.0.1:5003"})
	got := map[string]string{}
	for _, p := range s.Pairs() {
		got[p.Standby] = p.Upstream + " by " + p.From
	}
	want := map[string]string{"b": "a by playbook", "c": "b by wal receiver", "d": "a by playbook"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s follows %s, want %s", k, got[k], v)
		}
	}
	s.resolveUpstreams(map[string]string{"a": "a:5432", "b": "b:5432"})
	if r := s.Node("d"); r.Follows != "b" || r.FollowsFrom != FromConninfo {
		t.Errorf("d by primary_conninfo: %s %s", r.Follows, r.FollowsFrom)
	}
}

// The host and port of a primary_conninfo, and nothing else of it.
func TestConninfoHostPort(t *testing.T) {
	for in, want := range map[string]string{
		"host=127.0.0.1 port=5433 user=postgres password=secret": "127.0.0.1 5433",
		"user=postgres host = 'b' password='a b'":                "b ",
		"postgresql://postgres:pw@primary:5432/postgres":         "primary 5432",
		"": " ",
	} {
		h, p := conninfoHostPort(in)
		if h+" "+p != want {
			t.Errorf("%q: %q %q, want %q", in, h, p, want)
		}
	}
}

// An upstream with two standbys logs the refusal of one: c, not
// streaming, asked from 0/4000000; b, streaming from a up to 0/30000A0,
// was not refused a start past that, so the line is not b's divergence.
func TestUpstreamRefusalIsNotEveryStandbys(t *testing.T) {
	s := renamed(loadSnap(t, "healthy_end.json"))
	c := s.Nodes[1]
	c.Node, c.Receiver, c.Role, c.Timeline, c.TLISource = "c", nil, RoleStandbyNoStream, 1, SrcRestored
	c.ReplayLSN, c.ReceiveLSN, c.LogTail = mustLSN("0/4000000"), InvalidLSN, nil
	s.Nodes = append(s.Nodes, c)
	a := &s.Nodes[0]
	a.LogTail = append(append([]string(nil), a.LogTail...), "2026-11-25 21:50:40.100 UTC [27700] ERROR:  requested starting point 0/4000000 is ahead of the WAL flush position of this server 0/30000A0")
	if !s.Nodes[1].Streams() {
		t.Fatal("b does not stream in the fixture")
	}
	d := Diagnose(DiagnoseInput{Snapshot: s})
	if d.Verdict != VerdictDiverged || d.Standby != "c" || len(d.Standbys) != 2 {
		t.Fatalf("verdict %s on %s: %s", d.Verdict, d.Standby, d.Explanation)
	}
	if b := d.Standbys[0]; b.Standby != "b" || b.Verdict != VerdictHealthy {
		t.Errorf("b, streaming, is %s: %s", b.Verdict, b.Explanation)
	}
	if c := d.Standbys[1]; !strings.Contains(c.Explanation, "0/4000000") {
		t.Errorf("c: %s", c.Explanation)
	}
}
