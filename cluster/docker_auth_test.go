package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Without root on the host walstep cannot enter the lab's socket dirs, so
// it polls through the published port: with the lab's secret, which the
// postgres role has from initdb on, and no pg_hba line trusts the gateway
// where every host connection arrives. Another local user (nobody) gets
// nowhere at the published port or the container's address, with the
// seed's password or none; a config file holding the secret is the
// server user's alone. Before, a trust line let any local user in.
func TestDockerWithoutRootNoOtherUser(t *testing.T) {
	img := requireDocker(t)
	was := hostIsRoot
	hostIsRoot = func() bool { return false }
	t.Cleanup(func() { hostIsRoot = was })
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	d := newTestDocker(t, img)
	var out bytes.Buffer
	if err := d.Init(ctx, Primary, &out); err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "lab's secret") {
		t.Errorf("init does not say the role's password is the lab's secret:\n%s", out.String())
	}
	hba := execOut(ctx, t, d, Primary, "root", "cat", "/data/pg_hba.conf")
	if !strings.Contains(hba, "/32 md5  # walstep:") || strings.Contains(hba, "trust  # walstep") {
		t.Errorf("pg_hba.conf: want walstep's gateway line to ask for the password:\n%s", hba)
	}
	if err := d.Start(ctx, Primary, &out); err != nil {
		t.Fatalf("start: %v\n%s", err, out.String())
	}
	waitAccepting(ctx, t, d, Primary) // through ConnString: the lab's secret
	secret, err := d.lab.Secret()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.ConnString(Primary), secret) {
		t.Fatalf("ConnString does not carry the lab's secret")
	}
	insp, err := d.inspectOwn(ctx, d.ContainerName(Primary))
	if err != nil || insp == nil || insp.NetworkSettings == nil {
		t.Fatalf("inspect primary: %v", err)
	}
	addrs := [][2]string{{"127.0.0.1", fmt.Sprint(d.Port(Primary))}}
	for _, ep := range insp.NetworkSettings.Networks {
		if ep.IPAddress != "" {
			addrs = append(addrs, [2]string{ep.IPAddress, "5432"})
		}
	}
	if len(addrs) < 2 {
		t.Fatalf("no container address to try: %v", addrs)
	}
	for _, a := range addrs {
		for _, pw := range []string{SeedPassword, ""} {
			got, in := psqlAsNobody(ctx, t, a[0], a[1], pw)
			if in || !strings.Contains(got, "password") {
				t.Errorf("nobody at %s:%s with password %q: %q, want a refusal asking for the right password", a[0], a[1], pw, got)
			}
		}
	}

	f := ServerFile{Area: AreaConfig, Name: "replica_standby.conf", Mode: ReplaceFile, Private: true,
		Data: []byte("primary_conninfo = 'host=primary port=5432 user=postgres password=" + secret + "'\n")}
	for i := 0; i < 2; i++ { // a second write replaces the server user's file
		if err := d.WriteFile(ctx, Primary, f); err != nil {
			t.Fatalf("write a private config file: %v", err)
		}
	}
	st, err := os.Stat(filepath.Join(d.configDir(Primary), f.Name))
	if err != nil {
		t.Fatal(err)
	}
	uid, _, _ := d.postgresIDs(ctx)
	if sys := st.Sys().(*syscall.Stat_t); int(sys.Uid) != uid || st.Mode().Perm() != 0o600 {
		t.Errorf("private config file: uid %d mode %v, want the server user's (%d) 0600", sys.Uid, st.Mode().Perm(), uid)
	}
	if got := execOut(ctx, t, d, Primary, "postgres", "cat", "/custom-pg-configs/"+f.Name); got != strings.TrimSpace(string(f.Data)) {
		t.Errorf("the server reads %q", got)
	}
	ents, _ := os.ReadDir(d.configDir(Primary))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".walstep-") {
			t.Errorf("left a temporary file: %s", e.Name())
		}
	}
}

// psqlAsNobody tries to log in as the user nobody with password pw ("" for
// none) and returns psql's output and whether it got in.
func psqlAsNobody(ctx context.Context, t *testing.T, host, port, pw string) (string, bool) {
	t.Helper()
	bin := filepath.Join(pgBinForTest(t), "psql")
	conn := fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres sslmode=disable connect_timeout=10", host, port)
	cmd := exec.CommandContext(ctx, bin, "-X", "-w", "-At", "-c", "select 'in as ' || current_user", conn)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "PGPASSFILE=/nonexistent"}
	if pw != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+pw)
	}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	b, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(b)), err == nil && strings.Contains(string(b), "in as postgres")
}

// pgBinForTest is the host's PostgreSQL binaries, for a client.
func pgBinForTest(t *testing.T) string {
	t.Helper()
	dir, err := FindPGBin("")
	if err != nil {
		t.Skip("no psql on the host to try logging in with")
	}
	return dir
}
