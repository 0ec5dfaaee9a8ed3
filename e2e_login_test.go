package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"walstep/cluster"
	"walstep/untrusted"
)

// No local user but walstep and the replica logs in to a lab's servers:
// with both servers up after F6, another user (nobody) tries every address
// they have — each TCP port they listen on (published ports, container
// addresses on the lab network), each unix socket — with the seed's
// password and with none, and is refused every time. Before, the seed's
// password worked on every TCP address.

// serverAddr is one way to reach a server: a TCP host and port, or a unix
// socket's directory and port. With secret set walstep's own user must
// get in there with the lab's secret (a primary's TCP addresses always).
type serverAddr struct {
	what, host, port string
	secret           bool
}

// unprivileged is the user the attempts run as.
const unprivileged = 65534 // nobody

// psqlAs runs psql as uid against a, with password pw ("" for none), and
// returns its output and whether it logged in.
func psqlAs(t *testing.T, uid uint32, a serverAddr, pw string) (string, bool) {
	t.Helper()
	bin := "/usr/lib/postgresql/15/bin/psql"
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("psql"); err != nil {
			t.Fatal("no psql to try logging in with")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres sslmode=disable connect_timeout=10", a.host, a.port)
	cmd := exec.CommandContext(ctx, bin, "-X", "-w", "-At", "-c", "select 'in as ' || current_user", conn)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "PGPASSFILE=/nonexistent"}
	if pw != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+pw)
	}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err == nil && strings.Contains(string(out), "in as postgres")
}

// refusal is how a server (or the socket's directory) says no; anything
// else, such as a refused connection, would mean nothing was tried.
var refusal = []string{"password authentication failed", "no password supplied", "no pg_hba.conf entry", "Permission denied"}

// assertNoOtherUserGetsIn tries every address as nobody, with the seed's
// password and with none, and checks that the lab's secret is the
// difference: walstep's own user gets in with it at the primary's TCP
// addresses.
func assertNoOtherUserGetsIn(t *testing.T, lab string, addrs []serverAddr) {
	t.Helper()
	if out, err := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat", filepath.Join(lab, "run", cluster.SecretFile)).CombinedOutput(); err == nil {
		t.Errorf("nobody can read the lab's secret: %s", out)
	}
	secret, err := os.ReadFile(filepath.Join(lab, "run", cluster.SecretFile))
	if err != nil {
		t.Errorf("the lab's secret: %v", err)
	}
	for _, a := range addrs {
		for _, pw := range []string{cluster.SeedPassword, ""} {
			out, in := psqlAs(t, unprivileged, a, pw)
			switch {
			case in:
				t.Errorf("nobody logged in to %s (%s:%s) with password %q", a.what, a.host, a.port, pw)
			case !containsAny(out, refusal):
				t.Errorf("nobody at %s (%s:%s) with password %q: %q, want a refusal (nothing listening proves nothing)", a.what, a.host, a.port, pw, out)
			default:
				t.Logf("nobody at %s, password %q: %s", a.what, pw, oneLine(out))
			}
		}
		if !strings.HasPrefix(a.host, "/") && (a.secret || strings.HasPrefix(a.what, "primary")) && len(secret) > 0 {
			// The address is live and the secret is what tells apart (the
			// replica's pg_hba.conf is the backup's, from before step 11,
			// which lets in no TCP client in Docker).
			if out, in := psqlAs(t, uint32(os.Geteuid()), a, strings.TrimSpace(string(secret))); !in {
				t.Errorf("walstep's user with the lab's secret at %s (%s:%s): %s", a.what, a.host, a.port, out)
			}
		}
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// runKept runs the no-target lab to the end with the servers kept running
// and returns the report's addresses, after checking the replica streams
// (it authenticates with the lab's secret).
func runKept(t *testing.T, flags ...string) map[string]string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := realMain(append([]string{"run", "--json", "--keep-running"}, flags...), &out, &errb); code != 0 {
		t.Fatalf("run exit %d: %s", code, errb.String())
	}
	var rep struct {
		jsonReport
		Addrs map[string]string `json:"addresses"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("decode report: %v", err)
	}
	if v, _ := rep.Diagnosis["verdict"].(string); v != "healthy" {
		t.Fatalf("no-target lab: verdict %q, want healthy (the replica streams with the lab's secret)", v)
	}
	for _, n := range []string{"primary", "replica"} {
		if rep.Addrs[n] == "" {
			t.Fatalf("report names no address for the %s: %v", n, rep.Addrs)
		}
	}
	return rep.Addrs
}

func tcpAddr(what, hostPort string) serverAddr {
	h, p, _ := strings.Cut(hostPort, ":")
	return serverAddr{what: what, host: h, port: p}
}

func TestE2ELocalNoOtherUserLogsIn(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab, "primary_restore.conf", noTarget)
	t.Cleanup(func() { runMain("clean", "--lab", lab) })
	addrs := runKept(t, "--lab", lab, "--backend", "local", "--archiver", "cp")
	var try []serverAddr
	for _, n := range []string{"primary", "replica"} {
		// postmaster.pid says where the server listens: its port, socket
		// directory and listen addresses.
		pid, err := os.ReadFile(filepath.Join(lab, n+"-data", "postmaster.pid"))
		if err != nil {
			t.Fatal(err)
		}
		l := strings.Split(string(pid), "\n")
		if len(l) < 6 || l[5] != "127.0.0.1" {
			t.Fatalf("%s listens on %q, want 127.0.0.1 only", n, l)
		}
		if addrs[n] != "127.0.0.1:"+l[3] {
			t.Fatalf("%s: report says %s, postmaster.pid port %s", n, addrs[n], l[3])
		}
		try = append(try, tcpAddr(n+" 127.0.0.1 port", addrs[n]),
			serverAddr{what: n + " unix socket", host: filepath.Join(lab, n+"-data", l[4]), port: l[3]})
	}
	assertNoOtherUserGetsIn(t, lab, try)
}

func TestE2EDockerNoOtherUserLogsIn(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	// A lab every user can reach, so the sockets' own directories decide.
	lab, flags := dockerLabAt(t, img, filepath.Join(reachableTempDir(t), "lab"))
	// A hook that logs in over the network with the seed's password runs
	// with the lab's secret, so it still gets in (else the run fails).
	initLabWith(t, lab, "primary_restore.conf", noTarget,
		"hooks/after-F1.replica.sh", "PGPASSWORD=postgres psql -X -h primary -U postgres -d postgres -Atc \"select 'hook got in'\"\n")
	addrs := runKept(t, flags...)
	try := []serverAddr{}
	for _, n := range []string{"primary", "replica"} {
		try = append(try, tcpAddr(n+" published port", addrs[n]))
		if os.Geteuid() == 0 {
			try = append(try, serverAddr{what: n + " socket in the lab", host: filepath.Join(lab, "run", "sockets-"+n), port: "5432"})
		}
	}
	try = append(try, containerAddrs(t, lab)...)
	if len(try) < 6 {
		t.Fatalf("only %d addresses to try: %v", len(try), try)
	}
	assertNoOtherUserGetsIn(t, lab, try)
}

// containerAddrs is every address of every running container of the lab,
// on every network it is on.
func containerAddrs(t *testing.T, lab string) []serverAddr { return containerAddrsOf(t, lab, 2) }

// labContainers lists the lab's running containers.
func labContainers(t *testing.T, lab string) []container.Summary {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	real, _ := filepath.EvalSymlinks(lab)
	cs, err := cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", cluster.LabelLab+"="+real))})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// containerAddrsOf is containerAddrs for a lab of servers nodes.
func containerAddrsOf(t *testing.T, lab string, servers int) []serverAddr {
	t.Helper()
	cs := labContainers(t, lab)
	if len(cs) != servers {
		t.Fatalf("%d containers of the lab running, want the %d servers", len(cs), servers)
	}
	var try []serverAddr
	for _, c := range cs {
		if c.NetworkSettings == nil {
			continue
		}
		for net, ep := range c.NetworkSettings.Networks {
			for _, ip := range []string{ep.IPAddress, ep.GlobalIPv6Address} {
				if ip != "" {
					try = append(try, serverAddr{what: fmt.Sprintf("%s at %s on %s", c.Labels[cluster.LabelNode], ip, net), host: ip, port: "5432", secret: c.Labels[cluster.LabelNode] != "replica"})
				}
			}
		}
	}
	return try
}

// Without root, walstep polls through the published ports with the lab's
// secret (it cannot enter the socket dirs, which are the image's postgres
// user's): walstep itself runs here as an ordinary user in the Docker
// socket's group, and still no other user logs in anywhere. Before, a
// pg_hba line trusted the network's gateway, where every host connection
// arrives.
func TestE2EDockerWithoutRootNoOtherUserLogsIn(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	if os.Geteuid() != 0 {
		t.Skip("runs walstep as another user, which takes root")
	}
	sock := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		if !strings.HasPrefix(h, "unix://") {
			t.Skipf("DOCKER_HOST %s is not a unix socket whose group the user could join", h)
		}
		sock = strings.TrimPrefix(h, "unix://")
	}
	st, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	gid := st.Sys().(*syscall.Stat_t).Gid
	const uid = 23456 // an ordinary user with no other part in the test
	bin := buildWalstep(t)
	dir := reachableTempDir(t)
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
	lab := filepath.Join(dir, "lab")
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	prefix := "wse2enr-" + hex.EncodeToString(b)
	images := []string{"--image", img, "--init-image", img, "--prefix", prefix}
	asUser := func(args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir, cmd.Env = dir, []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
		if h := os.Getenv("DOCKER_HOST"); h != "" {
			cmd.Env = append(cmd.Env, "DOCKER_HOST="+h)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{gid}}}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	if _, stderr, err := asUser("init", lab); err != nil {
		t.Fatalf("init: %v\n%s", err, stderr)
	}
	t.Cleanup(func() {
		if _, stderr, err := asUser(append([]string{"clean", "--lab", lab}, images...)...); err != nil {
			t.Errorf("walstep clean: %v\n%s", err, stderr)
		}
		assertNoDockerLeft(t, lab)
	})
	conf := filepath.Join(lab, "primary_restore.conf")
	if err := os.WriteFile(conf, []byte(noTarget), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(conf, uid, uid); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := asUser(append([]string{"run", "--json", "--keep-running", "--lab", lab, "--backend", "docker", "--archiver", "cp"}, images...)...)
	if err != nil {
		t.Fatalf("run as uid %d: %v\n%s", uid, err, stderr)
	}
	var rep struct {
		jsonReport
		Addrs map[string]string `json:"addresses"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("decode report: %v\n%s", err, stderr)
	}
	if v, _ := rep.Diagnosis["verdict"].(string); v != "healthy" {
		t.Fatalf("no-target lab without root: verdict %q, want healthy\n%s", v, stderr)
	}
	try := []serverAddr{tcpAddr("primary published port", rep.Addrs["primary"]), tcpAddr("replica published port", rep.Addrs["replica"])}
	try = append(try, containerAddrs(t, lab)...)
	assertNoOtherUserGetsIn(t, lab, try)
	hba, err := os.ReadFile(filepath.Join(lab, "primary-data", "pg_hba.conf"))
	if err != nil || strings.Contains(string(hba), "trust  # walstep") {
		t.Errorf("pg_hba.conf (%v) trusts the gateway:\n%s", err, hba)
	}
}

// The lab's secret never reaches what walstep prints or writes for you: a
// hook that prints it bare (no key to guess by) and a SQL hook that sets
// the seed's password again (so it runs with the secret: the replica
// still streams) leave no trace of it in the output, the transcript, the
// Markdown report or the JSON.
func TestE2ELocalLabSecretNeverPrinted(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	dir := reachableTempDir(t)
	lab := filepath.Join(dir, "lab")
	initLabWith(t, lab, "primary_restore.conf", noTarget,
		"hooks/after-4c.primary.sql", "set password_encryption = 'scram-sha-256';\nalter user postgres encrypted password 'postgres';\n",
		"hooks/after-F4.replica.sh", "sed -n 's/.*password=\\([0-9a-f]*\\).*/\\1/p' replica-config/replica_standby.conf\n")
	tr, md := filepath.Join(dir, "t.md"), filepath.Join(dir, "r.md")
	code, stdout, stderr := runMain("run", "-v", "--lab", lab, "--backend", "local", "--archiver", "cp", "--transcript", tr, "--markdown", md)
	if code != 0 {
		t.Fatalf("run exit %d:\n%s", code, stderr)
	}
	secretOf := func() string {
		b, err := os.ReadFile(filepath.Join(lab, "run", cluster.SecretFile))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	first := secretOf()
	outputs := map[string]string{"run -v": stdout + stderr}
	for _, p := range []string{tr, md} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		outputs[filepath.Base(p)] = string(b)
	}
	if !strings.Contains(stdout, "hooks/after-4c.primary.sql with this lab's secret") {
		t.Errorf("run -v does not say the hook ran with the lab's secret:\n%s", stdout)
	}
	if !strings.Contains(stdout, "| "+untrusted.Masked) {
		t.Errorf("run -v does not show the F4 hook's output masked:\n%s", stdout)
	}
	for name, o := range outputs {
		if strings.Contains(o, first) {
			t.Errorf("%s shows the lab's secret", name)
		}
	}
	// Step 0 makes a new secret for the new data dirs.
	code, js, jerr := runMain("run", "--json", "--lab", lab, "--backend", "local", "--archiver", "cp")
	var rep jsonReport
	if err := json.Unmarshal([]byte(js), &rep); code != 0 || err != nil {
		t.Fatalf("run --json exit %d (%v):\n%s", code, err, jerr)
	}
	if v, _ := rep.Diagnosis["verdict"].(string); v != "healthy" {
		t.Errorf("verdict %q with a hook that sets the seed's password: want healthy (it runs with the lab's secret)", v)
	}
	second := secretOf()
	if second == first {
		t.Errorf("the second run kept the first run's secret")
	}
	if strings.Contains(js+jerr, second) {
		t.Errorf("the JSON run shows the lab's secret")
	}
}
