package main

import (
	"regexp"
	"strings"
	"testing"
)

// fieldProof is what the field tests read of diagnosis.proof.
type fieldProof struct {
	Status     string `json:"status"`
	Conclusion string `json:"conclusion"`
	Nodes      []struct {
		Node string `json:"node"`
		Fate string `json:"fate"`
	} `json:"nodes"`
	Standbys []struct {
		Standby string `json:"standby"`
		Verdict string `json:"verdict"`
		Fate    string `json:"fate"`
		Status  string `json:"status"`
	} `json:"standbys"`
}

// scriptMarker is a plain script's line for one standby's marker.
var scriptMarker = regexp.MustCompile(`(?m)^node (\S+): marker (present|missing) ?(\((\w+)\))?`)

// checkFieldProof compares walstep's proof from the data with the plain
// script's marker row, node by node: present is found; missing on a
// running node is absent; missing on a stopped one, absent or no answer.
// The proof never disagrees where the script and the verdict agree, and
// c.proof, when set, is each standby's verdict and fate. A run that stops
// at a step failing by design has no marker: the proof is unknown.
func checkFieldProof(t *testing.T, c fieldPlaybook, sout []byte, rep fieldReport) {
	t.Helper()
	p := rep.Diagnosis.Proof
	if c.failed != "" {
		// The step that fails by design stops the run before the proof
		// step: there is no marker, and the proof says so.
		if p.Status != "unknown" || !strings.Contains(p.Conclusion, "not reached") {
			t.Errorf("the proof step after the failed %s: proof %s: %s", c.failed, p.Status, p.Conclusion)
		}
		return
	}
	fate := map[string]string{}
	for _, n := range p.Nodes {
		fate[n.Node] = n.Fate
	}
	ms := scriptMarker.FindAllStringSubmatch(string(sout), -1)
	if len(ms) == 0 {
		t.Fatalf("the script printed no marker line:\n%s", sout)
	}
	for _, m := range ms {
		node := c.as[m[1]]
		got := fate[node]
		want := map[string][]string{"present": {"found"}, "missing": {"absent"}}[m[2]]
		if m[2] == "missing" && m[4] == "stopped" {
			want = append(want, "no answer")
		}
		ok := false
		for _, w := range want {
			ok = ok || got == w
		}
		if !ok {
			t.Errorf("the script's marker on %s is %s %s; walstep's on %s: %q, want one of %q (proof: %s)", m[1], m[2], m[4], node, got, want, p.Conclusion)
		}
	}
	if p.Status == "disagrees" {
		t.Errorf("the proof disagrees with the positions and logs where the script gives one outcome: %s", p.Conclusion)
	}
	for sb, want := range c.proof {
		got := ""
		for _, s := range p.Standbys {
			if s.Standby == sb {
				got = s.Verdict + " " + s.Fate
				if s.Status != "agrees" {
					t.Errorf("standby %s's proof is %s", sb, s.Status)
				}
			}
		}
		if got != want {
			t.Errorf("standby %s's proof: %q, want %q (%s)", sb, got, want, p.Conclusion)
		}
	}
	if len(c.proof) > 0 && p.Status != "agrees" {
		t.Errorf("proof %s, want agrees: %s", p.Status, p.Conclusion)
	}
	t.Logf("proof (%s): %s", p.Status, strings.TrimSpace(p.Conclusion))
}
