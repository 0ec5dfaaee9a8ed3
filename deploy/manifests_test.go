package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// docs splits a multi-document YAML file.
func docs(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^#.*$`).ReplaceAllString(d, "")) != "" {
			out = append(out, []byte(d))
		}
	}
	return out
}

// strict decodes one document, refusing fields the type does not have (a
// misspelt completionMode would otherwise pass silently).
func strict(t *testing.T, doc []byte, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, into); err != nil {
		t.Fatalf("decode %T: %v\n%s", into, err, doc)
	}
}

func env(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// runnerImage is the majors scripts/runner-image.sh puts in by default and
// the tag it gives them.
func runnerImage(t *testing.T) (majors, tag string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "scripts", "runner-image.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^LIST="([0-9,]+)"$`).FindSubmatch(b)
	if m == nil || !bytes.Contains(b, []byte(`TAG="${TAG:-walstep-runner:$key}"`)) {
		t.Fatal("scripts/runner-image.sh no longer sets LIST= and tags walstep-runner:pg<majors>")
	}
	return string(m[1]), "walstep-runner:pg" + strings.ReplaceAll(string(m[1]), ",", "-")
}

func TestIndexedJobManifest(t *testing.T) {
	ds := docs(t, filepath.Join("k8s", "explore-job.yaml"))
	if len(ds) != 2 {
		t.Fatalf("%d documents, want a PersistentVolumeClaim and a Job", len(ds))
	}
	var pvc corev1.PersistentVolumeClaim
	strict(t, ds[0], &pvc)
	var job batchv1.Job
	strict(t, ds[1], &job)
	if pvc.Kind != "PersistentVolumeClaim" || job.Kind != "Job" || job.APIVersion != "batch/v1" {
		t.Fatalf("kinds %s %s/%s", pvc.Kind, job.APIVersion, job.Kind)
	}
	s := job.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Fatalf("completionMode %v, want Indexed (JOB_COMPLETION_INDEX is only set then)", s.CompletionMode)
	}
	if s.Completions == nil || s.Parallelism == nil || *s.Parallelism > *s.Completions || *s.Completions < 2 {
		t.Fatalf("completions %v parallelism %v", s.Completions, s.Parallelism)
	}
	if s.BackoffLimitPerIndex == nil || s.MaxFailedIndexes == nil || *s.MaxFailedIndexes > *s.Completions {
		t.Errorf("backoffLimitPerIndex %v maxFailedIndexes %v: a failed shard should be retried on its own", s.BackoffLimitPerIndex, s.MaxFailedIndexes)
	}
	pod := s.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever || len(pod.Containers) != 1 {
		t.Fatalf("restartPolicy %s, %d containers", pod.RestartPolicy, len(pod.Containers))
	}
	c := pod.Containers[0]
	majors, tag := runnerImage(t)
	if c.Image != tag || strings.Join(c.Command, " ") != "walstep-explore-shard" {
		t.Errorf("image %s command %v, want the runner image's walstep-explore-shard", c.Image, c.Command)
	}
	shards, _ := env(c, "SHARDS")
	if n, err := strconv.Atoi(shards); err != nil || int32(n) != *s.Completions {
		t.Errorf("SHARDS=%q, completions %d: each index must be one shard of SHARDS", shards, *s.Completions)
	}
	results, _ := env(c, "RESULTS")
	mounted := ""
	for _, m := range c.VolumeMounts {
		if m.MountPath == results {
			mounted = m.Name
		}
	}
	claim := ""
	for _, v := range pod.Volumes {
		if v.Name == mounted && v.PersistentVolumeClaim != nil {
			claim = v.PersistentVolumeClaim.ClaimName
		}
	}
	if results == "" || claim != pvc.Name {
		t.Errorf("RESULTS=%q is not the claim %s mounted (volume %q, claim %q)", results, pvc.Name, mounted, claim)
	}
	if pvc.Spec.AccessModes[0] != corev1.ReadWriteMany {
		t.Errorf("the claim is %v: every shard's pod writes to it", pvc.Spec.AccessModes)
	}
	if c.SecurityContext == nil || c.SecurityContext.RunAsUser == nil || *c.SecurityContext.RunAsUser != 0 {
		t.Error("walstep needs root in the pod to start servers as postgres")
	}
	pg, _ := env(c, "PG")
	if pg != majors {
		t.Errorf("PG=%q: the runner image has %s", pg, majors)
	}

	// The merge Job reads the same claim at the same path.
	md := docs(t, filepath.Join("k8s", "explore-merge-job.yaml"))
	var merge batchv1.Job
	strict(t, md[0], &merge)
	mc := merge.Spec.Template.Spec.Containers[0]
	if len(md) != 1 || mc.Image != tag || !strings.HasPrefix(strings.Join(mc.Command, " "), "walstep explore merge") || mc.Command[len(mc.Command)-1] != results ||
		merge.Spec.Template.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != pvc.Name || mc.VolumeMounts[0].MountPath != results {
		t.Errorf("merge job: command %v volumes %+v mounts %+v", mc.Command, merge.Spec.Template.Spec.Volumes, mc.VolumeMounts)
	}
}

// The shard script computes the shard as the manifest's pods need it:
// Kubernetes counts indices from 0, walstep shards from 1.
func TestShardScriptTurnsTheCompletionIndexIntoAShard(t *testing.T) {
	bin := t.TempDir()
	// A stand-in walstep that prints its argv: the flags themselves are
	// checked against the real walstep by the Docker e2e.
	if err := os.WriteFile(filepath.Join(bin, "walstep"), []byte("#!/bin/sh\necho \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	results := t.TempDir()
	run := func(env ...string) (string, error) {
		cmd := exec.Command("bash", "../scripts/explore-shard.sh")
		cmd.Env = append([]string{"PATH=" + bin + ":" + os.Getenv("PATH"), "RESULTS=" + results}, env...)
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err
	}
	got, err := run("SHARDS=6", "JOB_COMPLETION_INDEX=0", "PG=15", "ARCHIVERS=cp")
	want := "explore --lab " + results + "/shard-1/lab --backend local --pg 15 --archiver cp --variants  --repeat 1 --jobs 2 --shard 1/6"
	if err != nil || got != want {
		t.Errorf("index 0 of 6:\n got %q (%v)\nwant %q", got, err, want)
	}
	if got, err := run("SHARD=3/3"); err != nil || !strings.HasSuffix(got, "--shard 3/3") || !strings.Contains(got, "shard-3/lab") {
		t.Errorf("SHARD=3/3: %q %v", got, err)
	}
	if got, err := run(); err != nil || strings.Contains(got, "--shard") || !strings.Contains(got, "whole/lab") {
		t.Errorf("no shard: %q %v", got, err)
	}
	if _, err := run("JOB_COMPLETION_INDEX=2"); err == nil {
		t.Error("an index without SHARDS is accepted")
	}
}

func TestCIMatrixExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("ci", "github-actions-explore.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Env  map[string]string `json:"env"`
		Jobs map[string]struct {
			Needs    any `json:"needs"`
			Strategy struct {
				Matrix struct {
					Shard []int `json:"shard"`
				} `json:"matrix"`
			} `json:"strategy"`
			Steps []struct {
				Run  string         `json:"run"`
				Uses string         `json:"uses"`
				With map[string]any `json:"with"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(wf.Env["SHARDS"])
	shard := wf.Jobs["shard"]
	if n < 2 || len(shard.Strategy.Matrix.Shard) != n {
		t.Fatalf("SHARDS=%d but the matrix has shards %v", n, shard.Strategy.Matrix.Shard)
	}
	for i, k := range shard.Strategy.Matrix.Shard {
		if k != i+1 {
			t.Errorf("matrix shards %v: want 1…%d", shard.Strategy.Matrix.Shard, n)
		}
	}
	all := func(job string) string {
		var s []string
		for _, st := range wf.Jobs[job].Steps {
			s = append(s, st.Run)
		}
		return strings.Join(s, "\n")
	}
	if !strings.Contains(all("image"), "scripts/runner-image.sh") || !strings.Contains(all("shard"), "SHARD=${{ matrix.shard }}/$SHARDS") ||
		!strings.Contains(all("shard"), "walstep-explore-shard") || !strings.Contains(all("merge"), "walstep explore merge") {
		t.Errorf("steps do not build the image, run walstep-explore-shard per shard and merge:\n%s\n%s\n%s", all("image"), all("shard"), all("merge"))
	}
	if wf.Jobs["merge"].Needs != "shard" || wf.Jobs["shard"].Needs != "image" {
		t.Errorf("needs: merge %v, shard %v", wf.Jobs["merge"].Needs, wf.Jobs["shard"].Needs)
	}
}
