package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"walstep/checkpoint"
	"walstep/cluster"
	"walstep/headless"
	"walstep/playbook"
	"walstep/steps"
)

// checkpointLab makes a lab for backend ("local" or "docker") and its
// run flags.
func checkpointLab(t *testing.T, backend string) (string, []string, options) {
	t.Helper()
	if backend == "docker" {
		img := requireDockerE2E(t)
		lab, flags := dockerLab(t, img)
		initLabWith(t, lab)
		o := options{lab: lab, backend: "docker", archiver: "cp", image: img, initImage: img, prefix: flags[len(flags)-1]}
		return lab, flags, o
	}
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab)
	t.Cleanup(func() { runMain("clean", "--lab", lab) })
	return lab, []string{"--lab", lab, "--backend", "local", "--archiver", "cp"}, options{lab: lab, backend: "local", archiver: "cp"}
}

// treeManifest lists every entry below each of the lab's generated dirs
// under root: path, type, mode, owner, and a file's content hash or a
// link's target. Two equal manifests are the same tree byte for byte.
func treeManifest(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, name := range (&cluster.Lab{}).GeneratedNames() {
		base := filepath.Join(root, name)
		if _, err := os.Lstat(base); err != nil {
			continue
		}
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			st := info.Sys().(*syscall.Stat_t)
			rel, _ := filepath.Rel(root, p)
			line := fmt.Sprintf("%s %v %d:%d", rel, info.Mode(), st.Uid, st.Gid)
			switch {
			case info.Mode().IsRegular():
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				sum := sha256.Sum256(b)
				line += " " + hex.EncodeToString(sum[:])
			case info.Mode()&fs.ModeSymlink != 0:
				target, _ := os.Readlink(p)
				line += " -> " + target
			}
			out = append(out, line)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}

func sameManifest(t *testing.T, what string, want, got []string) {
	t.Helper()
	if strings.Join(want, "\n") == strings.Join(got, "\n") {
		return
	}
	w := map[string]bool{}
	for _, l := range want {
		w[l] = true
	}
	g := map[string]bool{}
	for _, l := range got {
		g[l] = true
	}
	var diffs []string
	for _, l := range want {
		if !g[l] {
			diffs = append(diffs, "- "+l)
		}
	}
	for _, l := range got {
		if !w[l] {
			diffs = append(diffs, "+ "+l)
		}
	}
	if len(diffs) > 20 {
		diffs = diffs[:20]
	}
	t.Errorf("%s: not the same tree (%d vs %d entries):\n%s", what, len(want), len(got), strings.Join(diffs, "\n"))
}

// drive sends cmd to r and reads its events until an Idle, returning the
// events seen.
func drive(t *testing.T, r *steps.Runner, cmd func()) []steps.Event {
	t.Helper()
	cmd()
	var seen []steps.Event
	deadline := time.After(5 * time.Minute)
	for {
		select {
		case e, ok := <-r.Events():
			if !ok {
				t.Fatal("the runner stopped")
			}
			seen = append(seen, e)
			if e.Kind == steps.Idle {
				return seen
			}
		case <-deadline:
			t.Fatal("no idle within 5 minutes")
		}
	}
}

func indexOf(all []steps.Step, id string) int {
	for i, st := range all {
		if st.ID == id {
			return i
		}
	}
	return -1
}

// A checkpoint is the lab it was taken from, and restored it is that lab
// again, byte for byte, with owners and modes: taken before step 12, the
// lab then run to the end, then rewound to 12.
func testCheckpointRestoresTheLab(t *testing.T, backend string) {
	lab, _, o := checkpointLab(t, backend)
	s, err := openSession(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(true)
	k := checkpoint.NewKeeper(s.Env, func() *playbook.Doc { return s.Doc })
	at := indexOf(s.Steps, "12")
	k.Want = func(all []steps.Step, i int) bool { return i == at }
	k.Store.Spare = true // as the debugger: the restore moves the spare copy in
	defer k.Store.Wait()
	r := steps.NewRunner(s.Steps)
	r.SetCheckpoints(k)
	r.SetBreakpoint(at)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go r.Run(ctx)
	ev := drive(t, r, r.Continue)
	if last := ev[len(ev)-1]; last.Reason != steps.ReasonBreakpoint || last.Cursor != at {
		t.Fatalf("did not stop at step 12: %+v", last)
	}
	kept := k.Store.List()
	if len(kept) != 1 || kept[0].Before != "12" {
		t.Fatalf("checkpoints kept: %+v", kept)
	}
	taken := treeManifest(t, lab)
	sameManifest(t, "the checkpoint", taken, treeManifest(t, filepath.Join(lab, cluster.CheckpointsDir, kept[0].Name)))
	ev = drive(t, r, r.Continue)
	if last := ev[len(ev)-1]; last.Reason != steps.ReasonEnd {
		t.Fatalf("the run did not end: %+v", last)
	}
	begin := time.Now()
	ev = drive(t, r, func() { r.Rewind(at) })
	took := time.Since(begin)
	var line string
	for _, e := range ev {
		if e.Kind == steps.Rewound {
			line = e.Line
		}
	}
	if !strings.Contains(line, "restored the checkpoint before step 12") {
		t.Fatalf("no restore: %+v", ev)
	}
	t.Logf("%s (rewind %s)", line, took.Round(time.Millisecond))
	if !strings.Contains(line, "files copied back") {
		t.Errorf("the rewind after a run copied the lab whole (%q): want only what the run changed copied back", line)
	}
	sameManifest(t, "the restored lab", taken, treeManifest(t, lab))
	// Changes that keep a file's size and mtime, owners and modes, and a
	// dir the server user replaced by a link to one outside: restored.
	tamperLab(t, lab)
	outside := t.TempDir()
	notify := filepath.Join(lab, cluster.PrimaryData, "pg_notify")
	if err := os.RemoveAll(notify); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, notify); err != nil {
		t.Fatal(err)
	}
	ev = drive(t, r, func() { r.Rewind(at) })
	if ev[len(ev)-1].Reason != steps.ReasonRewound {
		t.Fatalf("the rewind after the changes did not restore: %+v", ev)
	}
	sameManifest(t, "the lab restored after changes", taken, treeManifest(t, lab))
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("the restore wrote through a link the server user could plant: %d entries in its target", len(ents))
	}
	// Again, from the spare made anew in the background, when the lab's
	// record is gone.
	k.Store.Wait()
	if err := os.Remove(filepath.Join(lab, cluster.CheckpointsDir, "lab-state.json")); err != nil {
		t.Fatal(err)
	}
	ev = drive(t, r, func() { r.Rewind(at) })
	if ev[len(ev)-1].Reason != steps.ReasonRewound {
		t.Fatalf("the second rewind did not restore: %+v", ev)
	}
	for _, e := range ev {
		if e.Kind == steps.Rewound && !strings.Contains(e.Line, "the spare copy moved in") {
			t.Errorf("restore without the lab's record: %q, want the spare moved in", e.Line)
		}
	}
	sameManifest(t, "the lab restored again", taken, treeManifest(t, lab))
	snap := r.Snapshot()
	for i := 0; i < at; i++ {
		if snap.States[i].Status != steps.Restored {
			t.Errorf("step %s is %s after the rewind, want restored", s.Steps[i].ID, snap.States[i].Status)
		}
	}
	if snap.Cursor != at {
		t.Errorf("cursor %d after the rewind, want %d", snap.Cursor, at)
	}
	// The rest runs from the restored lab to the same verdict.
	ev = drive(t, r, r.Continue)
	if last := ev[len(ev)-1]; last.Reason != steps.ReasonEnd {
		t.Fatalf("the run from the checkpoint did not end: %+v", last)
	}
	// Docker without root on this host copies in a root container: the
	// same tree again.
	if cp, ok := s.Env.Backend.(cluster.LabCopier); ok {
		for _, n := range cluster.SeedTopology().StopOrder() {
			if err := s.Env.Backend.Stop(t.Context(), n, io_discard{}); err != nil {
				t.Fatal(err)
			}
		}
		k.Store.Wait()
		if err := cp.CopyGenerated(t.Context(), filepath.Join(lab, cluster.CheckpointsDir, kept[0].Name), lab, true, true); err != nil {
			t.Fatal(err)
		}
		sameManifest(t, "the lab copied back in a container", taken, treeManifest(t, lab))
	}
}

// tamperLab changes the lab's primary data dir as no step does: a file
// rewritten in place with its size and mtime put back, one chmod'ed, one
// given to root.
func tamperLab(t *testing.T, lab string) {
	t.Helper()
	data := filepath.Join(lab, cluster.PrimaryData)
	f := filepath.Join(data, "PG_VERSION")
	st, err := os.Stat(f)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f)
	b[0] ^= 1
	if err := os.WriteFile(f, b, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(f, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(data, "postgresql.conf"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(filepath.Join(data, "pg_hba.conf"), 0, 0); err != nil {
		t.Fatal(err)
	}
}

func TestE2ELocalCheckpointRestoresTheLab(t *testing.T) {
	t.Parallel()
	testCheckpointRestoresTheLab(t, "local")
}

func TestE2EDockerCheckpointRestoresTheLab(t *testing.T) {
	t.Parallel()
	testCheckpointRestoresTheLab(t, "docker")
}

// An edited conf makes the checkpoints after the step that reads it
// (step 8 copies primary_restore.conf) unusable, and says so; one before
// that step still holds and is used.
func testCheckpointConfInvalidates(t *testing.T, backend string) {
	lab, _, o := checkpointLab(t, backend)
	s, err := openSession(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(true)
	k := checkpoint.NewKeeper(s.Env, func() *playbook.Doc { return s.Doc })
	early, late := indexOf(s.Steps, "5"), indexOf(s.Steps, "12")
	k.Want = func(all []steps.Step, i int) bool { return i == early || i == late }
	s.Keeper = k
	if res := headless.RunPlaybook(t.Context(), s, io_discard{}, false); res.Failed >= 0 {
		t.Fatalf("step %s failed", s.Steps[res.Failed].ID)
	}
	if n := len(k.Store.List()); n != 2 {
		t.Fatalf("%d checkpoints kept, want 2", n)
	}
	if err := os.WriteFile(filepath.Join(lab, cluster.PrimaryRestore), []byte(noTarget), 0o644); err != nil {
		t.Fatal(err)
	}
	m, at, notes := k.Nearest(s.Steps, late)
	if at != early || m.Before != "5" {
		t.Errorf("nearest checkpoint for step 12 after the edit: before %q (index %d), want before 5", m.Before, at)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "checkpoint before step 12 not used: file primary_restore.conf changed") {
		t.Errorf("notes %q do not say why the checkpoint before 12 is not used", notes)
	}
	if n := len(k.Store.List()); n != 1 {
		t.Errorf("%d checkpoints left, want the one before 5", n)
	}
}

type io_discard struct{}

func (io_discard) Write(p []byte) (int, error) { return len(p), nil }

func TestE2ELocalCheckpointConfInvalidates(t *testing.T) {
	t.Parallel()
	testCheckpointConfInvalidates(t, "local")
}

func TestE2EDockerCheckpointConfInvalidates(t *testing.T) {
	t.Parallel()
	testCheckpointConfInvalidates(t, "docker")
}

// run --from 12 without a checkpoint runs every step once and keeps one,
// the next runs start from it; clean removes it.
func testRunFromMakesCheckpoint(t *testing.T, backend string) {
	lab, flags, _ := checkpointLab(t, backend)
	var out, errb bytes.Buffer
	code := realMain(append([]string{"run", "--json", "--from", "12", "--repeat", "3"}, flags...), &out, &errb)
	var rr headless.RepeatReport
	if err := json.Unmarshal(out.Bytes(), &rr); err != nil {
		t.Fatalf("exit %d, decode: %v\n%s\n%s", code, err, out.String(), errb.String())
	}
	if code != 0 || len(rr.Runs) != 3 || rr.From != "12" {
		t.Fatalf("exit %d, report %+v\n%s", code, rr, errb.String())
	}
	if rr.Verdicts["diverged"] != 3 {
		t.Errorf("verdicts %v, want diverged 3/3", rr.Verdicts)
	}
	for _, want := range []string{"no checkpoint before step 12: this run runs every step and keeps one", "checkpoint kept before step 12", "restored the checkpoint before step 12"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("progress does not say %q:\n%s", want, errb.String())
		}
	}
	if n := strings.Count(errb.String(), "restored the checkpoint before step 12"); n != 2 {
		t.Errorf("%d runs restored, want 2", n)
	}
	ents, _ := os.ReadDir(filepath.Join(lab, cluster.CheckpointsDir))
	var kept []string
	for _, e := range ents {
		kept = append(kept, e.Name())
	}
	// The checkpoint and the record of the lab's files as last restored.
	if len(kept) != 2 || kept[1] != "lab-state.json" {
		t.Fatalf("checkpoints/ holds %q, want the checkpoint and lab-state.json", kept)
	}
	args := []string{"clean", "--lab", lab}
	if backend == "docker" {
		args = append(args, flags[len(flags)-6:]...)
	}
	if code, _, stderr := runMain(args...); code != 0 {
		t.Fatalf("clean: %s", stderr)
	}
	if _, err := os.Lstat(filepath.Join(lab, cluster.CheckpointsDir)); err == nil {
		t.Error("clean left checkpoints/")
	}
}

func TestE2ELocalRunFromMakesCheckpoint(t *testing.T) {
	t.Parallel()
	testRunFromMakesCheckpoint(t, "local")
}

func TestE2EDockerRunFromMakesCheckpoint(t *testing.T) {
	t.Parallel()
	testRunFromMakesCheckpoint(t, "docker")
}
