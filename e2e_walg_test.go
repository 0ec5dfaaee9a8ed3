package main

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// The real-WAL-G end-to-end tests run the playbook with the seed's own
// archiver: WAL-G v3.0.9 from ../shared/tools/wal-g (beside the repository
// on every developer machine and in CI) on the local backend, and the image
// scripts/test-image.sh --walg builds (WALSTEP_TEST_IMAGE_WALG, default
// walstep-test-pg:15-walg) on Docker. A fake wal-g prints nothing and
// fetches in microseconds; the real one writes its own "ERROR: <date>
// Archive … does not exist." lines into the server logs and takes its
// time, and the verdict must come out right all the same.

const walgGz = "../shared/tools/wal-g/wal-g-v3.0.9-linux-amd64.gz"

// realWalG unpacks the real WAL-G into a directory the postgres user can
// reach and returns the binary's path. Missing, it skips, except under
// CI=true, where that is a failure.
func realWalG(t *testing.T) string {
	t.Helper()
	f, err := os.Open(walgGz)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real WAL-G needed under CI: %v", err)
		}
		t.Skipf("real WAL-G not found: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("unpack %s: %v", walgGz, err)
	}
	bin := filepath.Join(reachableTempDir(t), "wal-g")
	out, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		out.Close()
		t.Fatalf("unpack %s: %v", walgGz, err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

// dockerWalGImage is the test image with the real WAL-G at
// /usr/local/bin/wal-g, required as requireDockerE2E requires its image.
func dockerWalGImage(t *testing.T) string {
	t.Helper()
	requireDockerE2E(t)
	img := os.Getenv("WALSTEP_TEST_IMAGE_WALG")
	if img == "" {
		img = "walstep-test-pg:15-walg"
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.ImageInspect(ctx, img); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("docker e2e tests need image %s under CI (scripts/test-image.sh --walg)", img)
		}
		t.Skipf("image %s not found: build it with scripts/test-image.sh --walg", img)
	}
	return img
}

// walgCase is one lab variant and the verdict it must end in.
type walgCase struct {
	name    string
	files   []string // lab file, content pairs written over the defaults
	healthy bool
}

var walgCases = []walgCase{
	{name: "default lab diverges"},
	{name: "no recovery target on the primary is healthy", files: []string{"primary_restore.conf", noTarget}, healthy: true},
	{name: "pg_switch_wal after step 13 is healthy", files: []string{"hooks/after-13.primary.sql", "select pg_switch_wal();\n"}, healthy: true},
}

func assertWalGRun(t *testing.T, c walgCase, rep jsonReport, code int, stderr string) {
	t.Helper()
	if code != 0 {
		t.Fatalf("run exit %d, stderr:\n%s", code, stderr)
	}
	if len(rep.Archive.Backups) != 1 || rep.Archive.Backups[0] != "base_000000010000000000000002" {
		t.Errorf("backups %v, want base_000000010000000000000002 as in the seed", rep.Archive.Backups)
	}
	if c.healthy {
		for _, s := range rep.Steps {
			if s.Status != "done" {
				t.Errorf("step %s: %s %s", s.ID, s.Status, s.Error)
			}
		}
		assertHealthy(t, rep)
		return
	}
	assertDiverged(t, rep)
	// WAL-G's routine misses are in the replica's log: the verdict was
	// reached in spite of them, not cut short by them.
	if !hasLine(rep.Nodes[1].LogTail, "ERROR: 20") {
		t.Errorf("replica log holds no WAL-G line: is this the real WAL-G? tail:\n%s", strings.Join(rep.Nodes[1].LogTail, "\n"))
	}
}

func TestE2EWalGLocal(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	bin := realWalG(t)
	for _, c := range walgCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			lab := filepath.Join(reachableTempDir(t), "lab")
			initLabWith(t, lab, c.files...) // init makes hooks/
			md := filepath.Join(filepath.Dir(lab), "report.md")
			rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "wal-g", "--wal-g", bin, "--markdown", md)
			assertWalGRun(t, c, rep, code, stderr)
			assertWalGVersion(t, md)
			if b, _ := os.ReadFile(md); !strings.Contains(string(b), "Proof from the data (agrees with the positions and logs):") {
				t.Errorf("the Markdown report lacks the proof from the data")
			}
			if left := postgresOf(t, lab); len(left) > 0 {
				t.Errorf("postgres left running after run: %v", left)
			}
		})
	}
}

func TestE2EWalGDocker(t *testing.T) {
	t.Parallel()
	img := dockerWalGImage(t)
	for _, c := range walgCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			lab, flags := dockerLab(t, img)
			for i, f := range flags {
				if f == "--archiver" {
					flags[i+1] = "wal-g"
				}
			}
			initLabWith(t, lab, c.files...) // init makes hooks/
			start := time.Now()
			md := filepath.Join(filepath.Dir(lab), "report.md")
			rep, code, stderr := runJSON(t, append(flags, "--markdown", md)...)
			t.Logf("walstep run on docker with wal-g took %s", time.Since(start).Round(time.Millisecond))
			assertWalGRun(t, c, rep, code, stderr)
			assertWalGVersion(t, md)
			assertNoDockerLeft(t, lab)
		})
	}
}
