package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"walstep/cluster"
)

// threeNodes is a cascade: b follows a, c follows b.
const threeNodes = "testdata/playbooks/three-nodes.md"

// nodesReport is what the N-node tests read of `run --json`.
type nodesReport struct {
	Steps []struct {
		ID, Status, Error string
	} `json:"steps"`
	Nodes []struct {
		Node        string   `json:"node"`
		Process     string   `json:"process"`
		Role        string   `json:"role"`
		LogTail     []string `json:"log_tail"`
		Upstream    string   `json:"upstream"`
		Follows     string   `json:"follows"`
		FollowsFrom string   `json:"follows_from"`
		Receiver    *struct {
			SenderHost string `json:"sender_host"`
			SenderPort int    `json:"sender_port"`
		} `json:"wal_receiver"`
	} `json:"nodes"`
	Addrs     map[string]string `json:"addresses"`
	Diagnosis struct {
		Verdict  string `json:"verdict"`
		Standby  string `json:"standby"`
		Standbys []struct {
			Standby  string `json:"standby"`
			Upstream string `json:"upstream"`
			From     string `json:"from"`
			Verdict  string `json:"verdict"`
		} `json:"standbys"`
	} `json:"diagnosis"`
}

// runThreeNodes runs the cascade with its servers kept running and checks
// what the report says of every node: each polled and up, each standby
// following its own upstream (told by its wal receiver), each judged
// healthy.
func runThreeNodes(t *testing.T, flags ...string) nodesReport {
	t.Helper()
	code, stdout, stderr := runMain(append([]string{"run", "--json", "--keep-running", "--playbook", threeNodes}, flags...)...)
	var rep nodesReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != 0 {
		t.Fatalf("exit %d, %v\n%s", code, err, stderr)
	}
	for _, s := range rep.Steps {
		if s.Status != "done" {
			t.Errorf("step %s: %s %s", s.ID, s.Status, s.Error)
		}
	}
	var names []string
	for _, n := range rep.Nodes {
		names = append(names, n.Node)
		if n.Process != "up" {
			t.Errorf("%s: %s, want up", n.Node, n.Process)
		}
		if rep.Addrs[n.Node] == "" {
			t.Errorf("no address for %s: %v", n.Node, rep.Addrs)
		}
		if !hasLine(n.LogTail, "database system is ready to accept") {
			t.Errorf("%s's log has no start in it:\n%s", n.Node, strings.Join(n.LogTail, "\n"))
		}
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Fatalf("report's nodes %v, want a b c", names)
	}
	for i, want := range []string{"", "a", "b"} {
		n := rep.Nodes[i]
		if n.Follows != want || (want != "" && (n.FollowsFrom != "wal receiver" || n.Role != "streaming standby")) {
			t.Errorf("%s: %s follows %q (%s), want %q by its wal receiver", n.Node, n.Role, n.Follows, n.FollowsFrom, want)
		}
	}
	d := rep.Diagnosis
	if d.Verdict != "healthy" || len(d.Standbys) != 2 {
		t.Fatalf("diagnosis %+v, want healthy with a verdict per standby", d)
	}
	for i, want := range []string{"b a", "c b"} {
		if s := d.Standbys[i]; s.Standby+" "+s.Upstream != want || s.Verdict != "healthy" || s.From != "wal receiver" {
			t.Errorf("standby %d: %+v, want %s healthy by its wal receiver", i, s, want)
		}
	}
	return rep
}

// assertNodeDirs checks each node's own data dir, config dir and, with
// logs, its log file (a container's is the engine's until it is removed).
func assertNodeDirs(t *testing.T, lab string, want, logs bool) {
	t.Helper()
	for _, n := range []string{"a", "b", "c"} {
		paths := []string{n + "-data", n + "-config"}
		if logs {
			paths = append(paths, filepath.Join("logs", n+".log"))
		}
		for _, p := range paths {
			_, err := os.Lstat(filepath.Join(lab, p))
			if want && err != nil {
				t.Errorf("%s: %v", p, err)
			}
			if !want && !os.IsNotExist(err) {
				t.Errorf("%s is still there after clean (%v)", p, err)
			}
		}
	}
}

// Three nodes on the local backend: a port and a data dir each, c streams
// from b, every node is in the report and no other user logs in to any;
// clean stops all three and removes their dirs.
func TestE2ENodesLocal(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	t.Cleanup(func() { runMain("clean", "--lab", lab) })
	rep := runThreeNodes(t, "--lab", lab, "--backend", "local", "--archiver", "cp")
	assertNodeDirs(t, lab, true, true)
	var pids []int
	var try []serverAddr
	ports := map[string]bool{}
	for _, n := range []string{"a", "b", "c"} {
		pid, err := os.ReadFile(filepath.Join(lab, n+"-data", "postmaster.pid"))
		if err != nil {
			t.Fatal(err)
		}
		l := strings.Split(string(pid), "\n")
		if len(l) < 6 || l[5] != "127.0.0.1" || rep.Addrs[n] != "127.0.0.1:"+l[3] {
			t.Fatalf("%s: report says %s, postmaster.pid %q", n, rep.Addrs[n], l)
		}
		ports[l[3]] = true
		p, err := strconv.Atoi(strings.TrimSpace(l[0]))
		if err != nil || p <= 1 {
			t.Fatalf("%s: postmaster pid %q", n, l[0])
		}
		pids = append(pids, p)
		try = append(try, serverAddr{what: n + " 127.0.0.1 port", host: "127.0.0.1", port: l[3], secret: true},
			serverAddr{what: n + " unix socket", host: filepath.Join(lab, n+"-data", l[4]), port: l[3]})
	}
	if len(ports) != 3 {
		t.Errorf("ports %v: want one per node", ports)
	}
	if got := rep.Nodes[2].Receiver; got == nil || "127.0.0.1:"+strconv.Itoa(got.SenderPort) != rep.Addrs["b"] {
		t.Errorf("c's wal receiver %+v, want b's port %s", got, rep.Addrs["b"])
	}
	assertNoOtherUserGetsIn(t, lab, try)
	if code, out, errs := runMain("clean", "--lab", lab); code != 0 {
		t.Fatalf("clean: exit %d\n%s%s", code, out, errs)
	}
	assertNodeDirs(t, lab, false, true)
	for _, p := range pids {
		if syscall.Kill(p, 0) == nil {
			t.Errorf("postmaster %d still runs after clean", p)
		}
	}
	if left := postgresOf(t, lab); len(left) > 0 {
		t.Errorf("postgres left after clean: %v", left)
	}
}

// Three nodes on Docker: a container each (<prefix>-a, -b, -c, each its
// node's network alias), c streams from b, every node is in the report,
// no other user logs in at any published port, socket or container
// address; clean removes the three containers and their dirs.
func TestE2ENodesDocker(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	lab, flags := dockerLabAt(t, img, filepath.Join(reachableTempDir(t), "lab"))
	rep := runThreeNodes(t, flags...)
	assertNodeDirs(t, lab, true, false)
	if got := rep.Nodes[2].Receiver; got == nil || got.SenderHost != "b" || got.SenderPort != 5432 {
		t.Errorf("c's wal receiver %+v, want b:5432 (b's alias)", got)
	}
	prefix := flags[slices.Index(flags, "--prefix")+1]
	byNode := map[string]string{}
	for _, c := range labContainers(t, lab) {
		byNode[c.Labels[cluster.LabelNode]] = strings.TrimPrefix(c.Names[0], "/")
	}
	for _, n := range []string{"a", "b", "c"} {
		if byNode[n] != prefix+"-"+n {
			t.Errorf("node %s runs in container %q, want %s-%s", n, byNode[n], prefix, n)
		}
	}
	var try []serverAddr
	for _, n := range []string{"a", "b", "c"} {
		a := tcpAddr(n+" published port", rep.Addrs[n])
		a.secret = true
		try = append(try, a)
		if os.Geteuid() == 0 {
			try = append(try, serverAddr{what: n + " socket in the lab", host: filepath.Join(lab, "run", "sockets-"+n), port: "5432"})
		}
	}
	try = append(try, containerAddrsOf(t, lab, 3)...)
	assertNoOtherUserGetsIn(t, lab, try)
	if code, out, errs := runMain(append([]string{"clean"}, cleanFlags(flags)...)...); code != 0 {
		t.Fatalf("clean: exit %d\n%s%s", code, out, errs)
	}
	assertNodeDirs(t, lab, false, true)
	assertNoDockerLeft(t, lab)
}

// cleanFlags are the flags of a docker run that clean takes too.
func cleanFlags(flags []string) []string {
	var out []string
	for i := 0; i+1 < len(flags); i += 2 {
		switch flags[i] {
		case "--lab", "--prefix", "--image", "--init-image":
			out = append(out, flags[i], flags[i+1])
		}
	}
	return out
}

// The cascade exported: the TAP test and the script build a, b and c
// with PostgreSQL's own tools, c streams from b, and the marker row is
// written where it can be, on a (the top of c's chain), not on b, a
// standby that refuses writes.
func TestE2EExportCascade(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lib, regress := tapSetup(t)
	work := reachableTempDir(t)
	lab := filepath.Join(work, "lab")
	if code, _, stderr := runMain("init", lab); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	tdir := filepath.Join(work, "tap")
	tap, script := filepath.Join(tdir, "t", "001_cascade.pl"), filepath.Join(work, "cascade.sh")
	if err := os.MkdirAll(filepath.Dir(tap), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := runMain("export", "--lab", lab, "--playbook", threeNodes, "--expect", "healthy", "--tap", tap, "--script", script); code != 0 {
		t.Fatalf("export: exit %d\n%s%s", code, out, stderr)
	}
	out, ok := prove(t, tdir, filepath.Join("t", filepath.Base(tap)), lib, regress)
	if !ok || !strings.Contains(out, "Result: PASS") || !strings.Contains(out, "a row committed on a reaches c") {
		t.Fatalf("prove: passed=%v\n%s", ok, out)
	}
	runDir := filepath.Join(work, "script-run")
	if err := os.Mkdir(runDir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(runDir, 0o777); err != nil {
		t.Fatal(err)
	}
	sout, err := exec.Command("bash", script, filepath.Join(runDir, "w")).CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(sout)), "\n")
	if err != nil || len(lines) < 2 || lines[len(lines)-2] != "healthy: c streams from b; the marker row committed on a reached it" {
		t.Fatalf("the exported script (%v):\n%s", err, sout)
	}
}

// Servers another playbook left running are stopped by the next run's
// reset before their dirs go: the cascade kept running, then a one-node
// playbook (kill.md, node primary) run on the same lab.
func TestE2ENodesLeftByAnotherPlaybook(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	t.Cleanup(func() { runMain("clean", "--lab", lab) })
	flags := []string{"--lab", lab, "--backend", "local", "--archiver", "cp"}
	if code, _, stderr := runMain(append([]string{"run", "--keep-running", "--playbook", threeNodes}, flags...)...); code != 0 {
		t.Fatalf("cascade: exit %d\n%s", code, stderr)
	}
	var pids []int
	for _, n := range []string{"a", "b", "c"} {
		b, err := os.ReadFile(filepath.Join(lab, n+"-data", "postmaster.pid"))
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(b), "\n")
		p, err := strconv.Atoi(strings.TrimSpace(first))
		if err != nil || p <= 1 {
			t.Fatalf("%s: postmaster pid %q", n, first)
		}
		pids = append(pids, p)
	}
	code, stdout, stderr := runMain(append([]string{"run", "-v", "--playbook", "testdata/playbooks/kill.md"}, flags...)...)
	if code != 0 {
		t.Fatalf("kill.md after the cascade: exit %d\n%s", code, stderr)
	}
	// Standbys first: c follows b, which follows a.
	said := stdout + stderr
	if i, j, k := strings.Index(said, "stopping c "), strings.Index(said, "stopping b "), strings.Index(said, "stopping a "); i < 0 || j < i || k < j {
		t.Errorf("the reset does not stop c, b, then a:\n%s", said)
	}
	for i, p := range pids {
		if syscall.Kill(p, 0) == nil {
			t.Errorf("postmaster %d of %s still runs after the reset", p, []string{"a", "b", "c"}[i])
		}
	}
	for _, n := range []string{"a", "b", "c"} {
		if _, err := os.Lstat(filepath.Join(lab, n+"-data")); !os.IsNotExist(err) {
			t.Errorf("%s-data is still there after the reset (%v)", n, err)
		}
	}
}

// One standby of three promoted: the verdict is diverged and names it (b
// left recovery while a runs), judged against a; c, which follows b, is
// judged against b, not a.
func TestE2ENodesOnePromoted(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	dir := reachableTempDir(t)
	lab := filepath.Join(dir, "lab")
	t.Cleanup(func() { runMain("clean", "--lab", lab) })
	src, err := os.ReadFile(threeNodes)
	if err != nil {
		t.Fatal(err)
	}
	pb := filepath.Join(dir, "promoted.md")
	promote := "\n## 8. Promote b\n\n```walstep\npromote b\nwait promoted b 60s\n```\n"
	if err := os.WriteFile(pb, append(src, promote...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runMain("run", "--json", "--playbook", pb, "--lab", lab, "--backend", "local", "--archiver", "cp")
	var rep struct {
		Diagnosis struct {
			Verdict, Standby, Upstream, Explanation string
			Standbys                                []struct {
				Standby, Upstream, Verdict string
			}
		} `json:"diagnosis"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("exit %d, %v\n%s", code, err, stderr)
	}
	d := rep.Diagnosis
	if d.Verdict != "diverged" || d.Standby != "b" || d.Upstream != "a" || !strings.HasPrefix(d.Explanation, "b is diverged (of 2 standbys, judged against a). ") || !strings.Contains(d.Explanation, "Standby b has left recovery and runs as a primary on timeline 2") {
		t.Errorf("verdict %s on %s against %s: %s", d.Verdict, d.Standby, d.Upstream, d.Explanation)
	}
	if len(d.Standbys) != 2 || d.Standbys[0].Standby+" "+d.Standbys[0].Upstream+" "+d.Standbys[0].Verdict != "b a diverged" || d.Standbys[1].Standby+" "+d.Standbys[1].Upstream != "c b" {
		t.Errorf("standbys %+v, want b against a diverged, c against b", d.Standbys)
	}
}
