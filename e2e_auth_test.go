package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"walstep/cluster"
)

// The replica authenticates as in the seed's Docker setup on both
// backends: with a wrong password in replica_standby.conf it cannot stream.
// Before, on the local backend, initdb's "host … 127.0.0.1/32 trust" line
// won over the seed's scram lines and the run ended healthy.
const wrongPassword = "primary_conninfo = 'host=${PRIMARY_HOST} port=${PRIMARY_PORT} user=postgres password=wrong'\nprimary_slot_name = 'replica'\n"

func assertRefusedPassword(t *testing.T, rep jsonReport) {
	t.Helper()
	if v, _ := rep.Diagnosis["verdict"].(string); v == "healthy" {
		t.Errorf("verdict healthy with a wrong password in replica_standby.conf")
	}
	if !hasLine(rep.Nodes[1].LogTail, "password authentication failed") {
		t.Errorf("replica log does not say the password was refused; tail:\n%s", strings.Join(rep.Nodes[1].LogTail, "\n"))
	}
}

func TestE2ELocalWrongPasswordIsNotHealthy(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab, "primary_restore.conf", noTarget, "replica_standby.conf", wrongPassword)
	rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp")
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	assertRefusedPassword(t, rep)
}

func TestE2EDockerWrongPasswordIsNotHealthy(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	lab, flags := dockerLab(t, img)
	initLabWith(t, lab, "primary_restore.conf", noTarget, "replica_standby.conf", wrongPassword)
	rep, code, stderr := runJSON(t, flags...)
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	assertRefusedPassword(t, rep)
}

// The local servers' unix socket lives in the lab (run/sockets); a lab
// path too long to name a socket in (the limit is 107 bytes) still works:
// the server names its socket dir relative to its data dir, and clients
// reach it through the directory's /proc/self/fd entry.
func TestE2ELocalLongLabPath(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), strings.Repeat("a-rather-long-directory-name-", 3), "lab")
	if len(lab) < 100 {
		t.Fatalf("lab path %q is not long enough for this test", lab)
	}
	rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp")
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	assertDiverged(t, rep)
}

// On Docker (as root) walstep reaches the servers through a socket in the
// lab, and no pg_hba line trusts the host: a connection to the published
// port without the password is refused; the lab's secret is the password. Before, a line trusted the
// network's gateway, where every host connection arrives, so any local
// user who could reach 127.0.0.1:PORT was the servers' superuser.
func TestE2EDockerPublishedPortNeedsPassword(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	if os.Geteuid() != 0 {
		t.Skip("the lab's socket dirs are the image's postgres user's: walstep reaches them as root only")
	}
	lab, flags := dockerLab(t, img)
	var out, errb bytes.Buffer
	if code := realMain(append([]string{"run", "--json", "--keep-running"}, flags...), &out, &errb); code != 0 {
		t.Fatalf("run exit %d: %s", code, errb.String())
	}
	var rep struct {
		Addrs map[string]string `json:"addresses"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Addrs["primary"] == "" {
		t.Fatalf("decode addresses: %v %v", err, rep.Addrs)
	}
	host, port, _ := strings.Cut(rep.Addrs["primary"], ":")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var one int
	err := cluster.QueryRow(ctx, "host="+host+" port="+port+" user=postgres dbname=postgres sslmode=disable", "select 1", &one)
	if err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("published port without a password: %v, want a refusal asking for one", err)
	}
	secret, err := os.ReadFile(filepath.Join(lab, "run", cluster.SecretFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.QueryRow(ctx, "host="+host+" port="+port+" user=postgres password="+strings.TrimSpace(string(secret))+" dbname=postgres sslmode=disable", "select 1", &one); err != nil {
		t.Errorf("published port with the lab's secret: %v", err)
	}
	hba, err := os.ReadFile(filepath.Join(lab, "primary-data", "pg_hba.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(hba), "/32 trust") {
		t.Errorf("pg_hba.conf trusts an address:\n%s", hba)
	}
}
