package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"walstep/cluster"
)

// clean finds a lab's containers by the lab's label whatever --prefix
// says: with a wrong prefix it still stops the running primary before
// removing the data dir under it.
func TestE2EDockerCleanWithTheWrongPrefix(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	lab, flags := dockerLab(t, img)
	// The run stops after step 3 with the primary running (--keep-running
	// keeps it up after the failed hook).
	initLabWith(t, lab, "hooks/after-3.primary.sh", "exit 3\n")
	_, code, stderr := runJSON(t, append([]string{"--keep-running"}, flags...)...)
	if code != 1 {
		t.Fatalf("run: exit %d, want 1 (the hook fails)\n%s", code, stderr)
	}
	if cs, _ := dockerLeft(t, lab); len(cs) != 1 || !strings.Contains(cs[0], "(running)") {
		t.Fatalf("after the run: containers %v, want the primary running", cs)
	}
	var out, errb bytes.Buffer
	code = realMain([]string{"clean", "--lab", lab, "--prefix", "wrong-prefix", "--image", img, "--init-image", img}, &out, &errb)
	if code != 0 {
		t.Fatalf("clean --prefix wrong-prefix: exit %d\n%s%s", code, out.String(), errb.String())
	}
	assertNoDockerLeft(t, lab)
	if _, err := os.Lstat(filepath.Join(lab, cluster.PrimaryData)); !os.IsNotExist(err) {
		t.Errorf("the primary's data dir is still there after clean: %v", err)
	}
}

// A run under another --prefix stops the lab's servers left running
// under the first one before its reset deletes their data dirs.
func TestE2EDockerRunWithAnotherPrefixStopsTheFirst(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	lab, flags := dockerLab(t, img)
	initLabWith(t, lab, "hooks/after-3.primary.sh", "exit 3\n")
	if _, code, stderr := runJSON(t, append([]string{"--keep-running"}, flags...)...); code != 1 {
		t.Fatalf("first run: exit %d, want 1 (the hook fails)\n%s", code, stderr)
	}
	if cs, _ := dockerLeft(t, lab); len(cs) != 1 || !strings.Contains(cs[0], "(running)") {
		t.Fatalf("after the first run: containers %v, want the primary running", cs)
	}
	// The second run stops at once, after its reset.
	if err := os.Rename(filepath.Join(lab, "hooks", "after-3.primary.sh"), filepath.Join(lab, "hooks", "after-0.primary.sh")); err != nil {
		t.Fatal(err)
	}
	other := append(append([]string{}, flags[:len(flags)-1]...), flags[len(flags)-1]+"-b")
	_, code, stderr := runJSON(t, other...)
	if code != 1 {
		t.Fatalf("second run: exit %d, want 1\n%s", code, stderr)
	}
	if cs, _ := dockerLeft(t, lab); len(cs) != 0 {
		t.Errorf("after a run with another prefix: containers %v still there (its reset deleted their data dirs)", cs)
	}
}
