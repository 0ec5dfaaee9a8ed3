package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"walstep/cluster"
	"walstep/pg"
)

// The WAL view opens segments in pg_wal and the archive, which the server
// user owns and may swap for links at any moment. These runs make the only
// copy of a segment the view reads a root-only file: a hook as postgres
// links the archive's and the replica's pg_wal copies to it, and the test
// then keeps each a regular file, swapping the link in whenever the
// segment before it is opened (between a reader's "not a link" check and
// its open) and back again. The segment carries a marker that pg_waldump prints
// (a logical message's prefix), so a root that followed a link would show
// it.

// segMarker is the prefix of a logical message written past the fork.
const segMarker = "ROOT-ONLY-SEGMENT-5c81"

// walPlantHooks write the marker past the fork (the old primary after its
// backup, as dataHook does; in two pieces, so the hook's text, which the
// report and transcript show, does not hold it), and at the last step ask
// for the root-only copy and, once the test made it (named as the segment
// it copies), link both copies of that segment to it. $PGDATA/.. is the
// lab locally and / in a container.
func walPlantHooks() []string {
	half := len(segMarker) / 2
	return []string{
		"hooks/after-4d.primary.sql", "select pg_logical_emit_message(false, '" + segMarker[:half] + "' || '" + segMarker[half:] + "', 'x');\n",
		"hooks/after-F6.replica.sh", `s="$PGDATA/../wal-g-storage"
touch "$s/wal_005/.plant-wanted"
i=0; n=
while [ -z "$n" ]; do
  i=$((i+1)); [ $i -gt 1200 ] && { echo "no root-only copy came"; exit 1; }
  n=$(ls -1 "$s/rootonly" 2>/dev/null | head -n 1); [ -n "$n" ] || sleep 0.1
done
for d in "$PGDATA/pg_wal" "$s/wal_005"; do ln -s "$s/rootonly/$n" "$d/.l" && mv -f "$d/.l" "$d/$n"; done
i=0; while ! [ -e "$s/rootonly/.armed" ]; do i=$((i+1)); [ $i -gt 1200 ] && { echo "the racer did not start"; exit 1; }; sleep 0.1; done
`,
	}
}

var tl1Segment = regexp.MustCompile(`^00000001[0-9A-F]{16}$`)

// plantRootOnlySegment waits for the hook's request, copies the archived
// segment into a root-only 0600 file in a root-owned directory of the
// storage (so a container sees it too) and returns its path and the
// paths the racer swaps.
func plantRootOnlySegment(ctx context.Context, lab string) (string, []string, error) {
	st := filepath.Join(lab, cluster.StorageDir)
	arch := filepath.Join(st, cluster.WALDir)
	err := cluster.Until(ctx, 6*time.Minute, "the hook's request", func(context.Context) (bool, error) {
		_, err := os.Lstat(filepath.Join(arch, ".plant-wanted"))
		return err == nil, nil
	})
	if err != nil {
		return "", nil, err
	}
	// The archived segment of timeline 1 that holds the marker.
	ents, err := os.ReadDir(arch)
	if err != nil {
		return "", nil, err
	}
	var name string
	var seg []byte
	for _, e := range ents {
		if !tl1Segment.MatchString(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(arch, e.Name()))
		if err == nil && bytes.Contains(b, []byte(segMarker)) {
			name, seg = e.Name(), b
		}
	}
	if name == "" {
		return "", nil, errors.New("no archived segment of timeline 1 holds the marker")
	}
	dir := filepath.Join(st, "rootonly")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ".tmp"), seg, 0o600); err != nil {
		return "", nil, err
	}
	r := filepath.Join(dir, name)
	if err := os.Rename(filepath.Join(dir, ".tmp"), r); err != nil {
		return "", nil, err
	}
	return r, []string{filepath.Join(arch, name), filepath.Join(lab, cluster.ReplicaData, "pg_wal", name)}, nil
}

// race (once the hook's links are there, and then saying so in armed,
// which the hook waits for) swaps each path between the link and a regular
// file, atomically (RENAME_EXCHANGE), as fast as it can until ctx ends: a
// reader that checks "not a link" and opens later may meet either. The
// regular file is the segment with the marker scrubbed (so a reader that
// gets it goes on to read it); it returns how many swaps it made.
func race(ctx context.Context, armed string, seg []byte, paths []string) (int, error) {
	links := 0
	err := cluster.Until(ctx, 2*time.Minute, "the hook's links", func(context.Context) (bool, error) {
		links = 0
		for _, p := range paths {
			if _, err := os.Readlink(p); err == nil {
				links++
			}
		}
		return links == len(paths), nil
	})
	if err != nil {
		return 0, err
	}
	plain := bytes.ReplaceAll(seg, []byte(segMarker), bytes.Repeat([]byte("x"), len(segMarker)))
	for _, p := range paths {
		if err := os.WriteFile(p+".alt", plain, 0o644); err != nil {
			return 0, err
		}
	}
	if err := os.WriteFile(armed, nil, 0o644); err != nil {
		return 0, err
	}
	n := 0
	for ctx.Err() == nil {
		for _, p := range paths {
			if err := unix.Renameat2(unix.AT_FDCWD, p+".alt", unix.AT_FDCWD, p, unix.RENAME_EXCHANGE); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// runHostileWAL runs walstep with the hooks above, plants and races, and
// checks that nothing of the root-only segment reached any output.
func runHostileWAL(t *testing.T, lab string, flags []string, within time.Duration) {
	t.Helper()
	initLabWith(t, lab, walPlantHooks()...)
	bin := buildWalstep(t)
	dir := reachableTempDir(t)
	md, tr := filepath.Join(dir, "report.md"), filepath.Join(dir, "transcript.txt")
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"run", "--json", "--markdown", md, "--transcript", tr}, flags...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rctx, stopRace := context.WithCancel(ctx)
	type raced struct {
		seg   string
		swaps int
		err   error
	}
	done := make(chan raced, 1)
	go func() {
		seg, paths, err := plantRootOnlySegment(rctx, lab)
		if err != nil {
			done <- raced{err: err}
			return
		}
		b, err := os.ReadFile(seg)
		if err != nil {
			done <- raced{err: err}
			return
		}
		n, err := race(rctx, filepath.Join(filepath.Dir(seg), ".armed"), b, paths)
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		done <- raced{seg, n, err}
	}()
	err := cmd.Wait()
	stopRace()
	rc := <-done
	var ee *exec.ExitError
	if ctx.Err() != nil || (err != nil && !errors.As(err, &ee)) {
		t.Fatalf("walstep run: %v (ctx %v)\n%s", err, ctx.Err(), lastN(errb.String(), 20))
	}
	if rc.err != nil {
		t.Fatalf("plant and race: %v\n%s", rc.err, lastN(errb.String(), 20))
	}
	t.Logf("%d swaps between a regular file and a link while the view read", rc.swaps)
	if rc.swaps == 0 {
		t.Fatalf("the racer never swapped\n%s", lastN(errb.String(), 30))
	}

	// The device is sound: the root-only copy holds records past the
	// fork, the marker among them, as pg_waldump prints them to root.
	var rep walReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.WALPastFork == nil {
		t.Fatalf("no report with wal_past_fork (%v):\n%s", err, lastN(errb.String(), 20))
	}
	w := rep.WALPastFork
	ctl := t.TempDir()
	name := filepath.Base(rc.seg)
	b, err := os.ReadFile(rc.seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctl, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
	hi, _ := strconv.ParseUint(name[8:16], 16, 32)
	lo, _ := strconv.ParseUint(name[16:24], 16, 32)
	start := pg.LSN(hi<<32 | lo*pg.WALSegSize)
	if start <= w.ForkLSN || w.ReplicaLSN <= start {
		t.Fatalf("the marker's segment %s is not between the fork %s and the replica's %s", name, w.ForkLSN, w.ReplicaLSN)
	}
	if bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_waldump"); len(bins) > 0 {
		dump, _ := exec.Command(bins[len(bins)-1], "-p", ctl, "-t", "1", "-s", start.String(), "-n", "200").CombinedOutput()
		if !strings.Contains(string(dump), `prefix "`+segMarker+`"`) {
			t.Fatalf("the root-only copy does not show the marker to root's pg_waldump:\n%s", dump)
		}
	} else if !bytes.Contains(b, []byte(segMarker)) {
		t.Fatalf("the root-only copy does not hold the marker")
	}

	// Nothing of it in any output: the view says the segment could not
	// be read, and the new timeline, read on the primary, is as always.
	for name, text := range map[string]string{"--json": out.String(), "stderr": errb.String(), "--markdown": read(t, md), "--transcript": read(t, tr)} {
		if strings.Contains(text, segMarker) {
			t.Errorf("the root-only segment's marker is in %s", name)
		}
	}
	for _, r := range w.Records {
		if r.Rmgr == "LogicalMessage" || r.LSN >= start {
			t.Errorf("a record of the root-only segment is shown: %+v", r)
		}
	}
	// Which one it met decides the line: the link refused or not
	// readable, or the regular file's scrubbed record.
	if w.Err == "" || strings.Contains(w.Err, "\n") {
		t.Errorf("past the fork: error %q; want one line saying why %s was not read", w.Err, name)
	}
	t.Logf("past the fork: %q; new timeline from %s", w.Err, w.NewTimeline.Source)
	nt := w.NewTimeline
	if nt.Timeline != 2 || nt.Err != "" || len(nt.Records) == 0 || nt.Records[0].LSN != w.ForkLSN {
		t.Errorf("new timeline: %+v", nt)
	}
}

func TestHostileLocalWALViewReadsNoRootOnlySegment(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	runHostileWAL(t, lab, []string{"--lab", lab, "--backend", "local", "--archiver", "cp"}, 8*time.Minute)
	ents, _ := os.ReadDir(filepath.Join(lab, cluster.RunDir, cluster.StagingDir))
	for _, e := range ents {
		t.Errorf("staging directory left behind: %s", e.Name())
	}
	if left := postgresOf(t, lab); len(left) > 0 {
		t.Errorf("postgres left running: %v", left)
	}
}

func TestHostileDockerWALViewReadsNoRootOnlySegment(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	lab, flags := dockerLab(t, img)
	runHostileWAL(t, lab, flags, 12*time.Minute)
	assertNoDockerLeft(t, lab)
}
