package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// runnerImageCI is the runner image scripts/ci-docker-setup.sh builds:
// PostgreSQL 15 and 17 (scripts/runner-image.sh --pg 15,17).
const runnerImageCI = "walstep-runner:pg15-17"

var shardScript, _ = filepath.Abs("scripts/explore-shard.sh")

// runShardContainer runs scripts/explore-shard.sh (the runner image's
// walstep-explore-shard, as a Kubernetes pod or a CI job runs it) in a
// container of the runner image, with env, the walstep under test, and
// results (a shared volume's stand-in) at /results. The container has no
// network beyond its own loopback.
func runShardContainer(ctx context.Context, name, bin, results string, env ...string) (string, error) {
	args := []string{"run", "--rm", "--name", name, "--network", "none", "--shm-size", "256m",
		"-v", bin + ":/usr/local/bin/walstep:ro", "-v", shardScript + ":/usr/local/bin/walstep-explore-shard:ro", "-v", results + ":/results"}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	cmd := exec.CommandContext(ctx, "docker", append(args, runnerImageCI, "walstep-explore-shard")...)
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return b.String(), err
}

// The same matrix explored whole and as 3 shards in 3 containers, then
// merged: the deterministic cells (the bug and its two measured fixes)
// agree verdict for verdict, and the merged Markdown links every run's
// transcript.
func TestE2EExploreShardsMergeEqualsWhole(t *testing.T) {
	t.Parallel()
	requireImages(t, runnerImageCI)
	dir, err := os.MkdirTemp("", "walstep-shards-")
	if err != nil {
		t.Fatal(err)
	}
	id := filepath.Base(dir)[len("walstep-shards-"):]
	var names []string
	t.Cleanup(func() {
		for _, n := range names {
			_ = exec.Command("docker", "rm", "-f", n).Run()
		}
		_ = os.RemoveAll(dir)
	})
	bin := filepath.Join(dir, "walstep")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // the image's libc is not the host's
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	matrix := []string{"PG=15,17", "ARCHIVERS=cp", "VARIANTS=default,no-target,switch-after-13"}

	// The whole matrix and its 3 shards at once, to keep the test short:
	// the cells compared are deterministic, so running side by side must
	// not change them.
	whole := mkdir(t, filepath.Join(dir, "whole"))
	// One volume for all shards, each shard indexed as a Kubernetes
	// Indexed Job indexes its pods.
	results := mkdir(t, filepath.Join(dir, "results"))
	var wg sync.WaitGroup
	outs := make([]string, 4)
	errs := make([]error, 4)
	for k := 0; k <= 3; k++ {
		n := fmt.Sprintf("wsx-%s-shard-%d", id, k)
		into, env := results, append(matrix, "JOBS=1", "SHARDS=3", fmt.Sprintf("JOB_COMPLETION_INDEX=%d", k-1))
		if k == 0 {
			n, into, env = "wsx-"+id+"-whole", whole, append(matrix, "JOBS=1")
		}
		names = append(names, n)
		wg.Add(1)
		go func() { // joined below
			defer wg.Done()
			outs[k], errs[k] = runShardContainer(ctx, n, bin, into, env...)
		}()
	}
	wg.Wait()
	if errs[0] != nil {
		t.Fatalf("unsharded explore: %v\n%s", errs[0], outs[0])
	}
	for k := 1; k <= 3; k++ {
		if errs[k] != nil {
			t.Fatalf("shard %d/3: %v\n%s", k, errs[k], outs[k])
		}
		// Progress names the shard, the cells done and the time left.
		if !regexp.MustCompile(fmt.Sprintf(`shard %d/3 run 1/2: .* · cells \d/2 · ~.* left`, k)).MatchString(outs[k]) {
			t.Errorf("shard %d/3 progress does not say which shard, cells done and time left:\n%s", k, outs[k])
		}
	}

	merged := filepath.Join(dir, "merged")
	var mout, merr bytes.Buffer
	if code := realMain([]string{"explore", "merge", "--json", "--out", merged, results}, &mout, &merr); code != 0 {
		t.Fatalf("merge: exit %d\n%s\n%s", code, merr.String(), mout.String())
	}
	var mg struct {
		exploreMatrix
		Shards  []json.RawMessage `json:"shards"`
		Missing []json.RawMessage `json:"missing"`
	}
	if err := json.Unmarshal(mout.Bytes(), &mg); err != nil {
		t.Fatalf("decode merged matrix: %v\n%s", err, mout.String())
	}
	if len(mg.Shards) != 3 || len(mg.Missing) != 0 || mg.Interrupted {
		t.Errorf("merged: %d shards, missing %s, interrupted %v", len(mg.Shards), mg.Missing, mg.Interrupted)
	}
	wholeFiles, err := findMatrices(whole, "")
	if err != nil || len(wholeFiles) != 1 {
		t.Fatalf("unsharded matrix.json: %v %v", wholeFiles, err)
	}
	b, err := os.ReadFile(wholeFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	var wm exploreMatrix
	if err := json.Unmarshal(b, &wm); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"default": "diverged", "no-target": "healthy", "switch-after-13": "healthy"}
	verdicts := func(m exploreMatrix) map[string]string {
		out := map[string]string{}
		for _, c := range m.Cells {
			var vs []string
			for v, n := range c.Verdicts {
				vs = append(vs, fmt.Sprintf("%s %d", v, n))
			}
			out[fmt.Sprintf("%s pg%d %s", c.Variant, c.PG, c.Archiver)] = strings.Join(vs, ",")
		}
		return out
	}
	wv, mv := verdicts(wm), verdicts(mg.exploreMatrix)
	if len(wv) != 6 || len(mv) != 6 {
		t.Fatalf("cells: unsharded %v, merged %v", wv, mv)
	}
	for cell, v := range wv {
		if mv[cell] != v {
			t.Errorf("cell %s: unsharded %q, sharded and merged %q", cell, v, mv[cell])
		}
		if exp := want[strings.Fields(cell)[0]] + " 1"; v != exp {
			t.Errorf("cell %s: %q, want %q (a deterministic cell)", cell, v, exp)
		}
	}
	md, err := os.ReadFile(filepath.Join(merged, "matrix.md"))
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`\]\(([^)]+transcript\.md)\)`).FindAllStringSubmatch(string(md), -1)
	if len(links) < 6+3 { // a run per cell, a prefix per shard at least
		t.Errorf("merged matrix.md links %d transcripts:\n%s", len(links), md)
	}
	for _, l := range links {
		if _, err := os.Stat(filepath.Join(merged, l[1])); err != nil {
			t.Errorf("merged matrix.md links %s: %v", l[1], err)
		}
	}
	// The unsharded matrix is not one of the shards: merge says so in a line.
	mout.Reset()
	merr.Reset()
	if code := realMain([]string{"explore", "merge", "--out", filepath.Join(dir, "bad"), whole, filepath.Join(results, "shard-1")}, &mout, &merr); code == 0 ||
		!strings.Contains(merr.String(), "shard counts differ") || strings.Count(strings.TrimSpace(merr.String()), "\n") != 0 {
		t.Errorf("merging the whole matrix with a shard: exit %d, stderr %q", code, merr.String())
	}
}

func mkdir(t *testing.T, d string) string {
	t.Helper()
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}
