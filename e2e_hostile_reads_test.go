package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The server user (and so any hook) owns the data dirs and the archive
// where walstep, as root, reads. These tests plant there what a hostile
// postgres user could, with hooks running as postgres, on real servers.

// secretMarker is the content of a root-only file that must never reach
// an output; shaped as a history line so a reader that followed the link
// would take it for a fork's reason.
const secretMarker = "ROOT-ONLY-f3b1c9"

// rootOnlyFile writes a root-only (0600) file holding secretMarker in a
// directory the postgres user can traverse (so the server's own listing
// of pg_wal does not fail on the link) and returns its path.
func rootOnlyFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(reachableTempDir(t), "root-only")
	if err := os.WriteFile(p, []byte("1\t0/3000000\t"+secretMarker+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// hostileHooks plant, as postgres: a FIFO as a history file in the archive
// (after 4a, once the archive is postgres's), a link to /dev/zero and one
// to a root-only file as history files in the primary's pg_wal (after 13),
// and a FIFO as the replica's standby.signal (after F5, so the standby of
// F6 starts on it). $PGDATA/.. is the lab locally and / in a container,
// where the archive is /wal-g-storage.
func hostileHooks(secret string) []string {
	return []string{
		"hooks/after-4a.primary.sh", `d="$PGDATA/../wal-g-storage/wal_005"; mkdir -p "$d" && mkfifo "$d/00000009.history"` + "\n",
		"hooks/after-13.primary.sh", `ln -s /dev/zero "$PGDATA/pg_wal/0000000A.history" && ln -s '` + secret + `' "$PGDATA/pg_wal/0000000B.history"` + "\n",
		"hooks/after-F5.replica.sh", `rm -f "$PGDATA/standby.signal" && mkfifo "$PGDATA/standby.signal"` + "\n",
	}
}

// runBounded runs the walstep binary with its address space capped at
// 3 GiB (a reader that follows a link to /dev/zero dies of it), killing it
// after within; it returns stdout, stderr and how long it took.
func runBounded(t *testing.T, bin string, within time.Duration, args ...string) (string, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", append([]string{"-c", `ulimit -v 3145728 && exec "$0" "$@"`, bin}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("walstep run did not end within %s (killed); it printed:\n%s", within, lastN(errb.String(), 15))
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if strings.Contains(errb.String(), "out of memory") || strings.Contains(errb.String(), "goroutine ") {
		t.Fatalf("walstep died:\n%s", lastN(errb.String(), 15))
	}
	return out.String(), errb.String(), took
}

func lastN(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// checkHostileRun asserts what a run over planted files must show: it
// finished with a report, no history came from the planted links, and not
// one byte of the root-only file is in the JSON, the Markdown report, the
// transcript or anything else it printed.
func checkHostileRun(t *testing.T, stdout, stderr, md, tr string) {
	t.Helper()
	var rep jsonReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("no JSON report: %v\nstderr:\n%s", err, lastN(stderr, 20))
	}
	for _, h := range rep.Histories {
		if h.TLI == 10 || h.TLI == 11 {
			t.Errorf("a history was read from a planted link: %+v", h)
		}
	}
	ran := map[string]string{}
	for _, s := range rep.Steps {
		ran[s.ID] = s.Status
	}
	for _, id := range []string{"4a+1", "13+1", "F5+1", "F6"} {
		if ran[id] == "" || ran[id] == "pending" {
			t.Errorf("step %s did not run (%q): the run stopped early", id, ran[id])
		}
	}
	for name, text := range map[string]string{"--json": stdout, "stderr": stderr, "--markdown": read(t, md), "--transcript": read(t, tr)} {
		if strings.Contains(text, secretMarker) {
			t.Errorf("the root-only file's content is in %s", name)
		}
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Errorf("read %s: %v", p, err)
	}
	return string(b)
}

// A run whose archive holds a FIFO as a history file, whose pg_wal holds
// links to /dev/zero and to a root-only file as history files, and whose
// standby starts on a FIFO standby.signal, ends on its own in bounded time
// and memory, leaks nothing of the root-only file, and leaves no server.
func TestHostileLocalPlantedFilesAreNotRead(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	bin := buildWalstep(t)
	dir := reachableTempDir(t)
	lab := filepath.Join(dir, "lab")
	initLabWith(t, lab, hostileHooks(rootOnlyFile(t))...)
	md, tr := filepath.Join(dir, "report.md"), filepath.Join(dir, "transcript.txt")
	stdout, stderr, took := runBounded(t, bin, 8*time.Minute, "run", "--json", "--lab", lab, "--backend", "local", "--archiver", "cp", "--markdown", md, "--transcript", tr)
	t.Logf("the run took %s", took.Round(time.Second))
	checkHostileRun(t, stdout, stderr, md, tr)
	if left := postgresOf(t, lab); len(left) > 0 {
		t.Errorf("postgres left running: %v", left)
	}
}

// The same on Docker as root: the reads go through the bind mounts on the
// host, where the links lead to the host's files.
func TestHostileDockerPlantedFilesAreNotRead(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	bin := buildWalstep(t)
	lab, flags := dockerLab(t, img)
	initLabWith(t, lab, hostileHooks(rootOnlyFile(t))...)
	dir := reachableTempDir(t)
	md, tr := filepath.Join(dir, "report.md"), filepath.Join(dir, "transcript.txt")
	args := append([]string{"run", "--json", "--markdown", md, "--transcript", tr}, flags...)
	stdout, stderr, took := runBounded(t, bin, 12*time.Minute, args...)
	t.Logf("the run took %s", took.Round(time.Second))
	checkHostileRun(t, stdout, stderr, md, tr)
	assertNoDockerLeft(t, lab)
}

// termAfter runs the walstep binary, sends SIGTERM once a progress line
// contains marker and returns how long it took to exit after that.
func termAfter(t *testing.T, bin string, args []string, marker string) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var sent time.Time
	var seen []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if sent.IsZero() && strings.Contains(sc.Text(), marker) {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			sent = time.Now()
		}
	}
	_ = cmd.Wait()
	if sent.IsZero() {
		t.Fatalf("never saw %q (stuck or ended first):\n%s\n%s", marker, lastN(strings.Join(seen, "\n"), 10), lastN(errb.String(), 10))
	}
	return time.Since(sent)
}

// SIGTERM after a FIFO was planted in the archive ends the run within
// seconds, servers stopped.
func TestHostileLocalSIGTERMAfterAPlantedFIFO(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	bin := buildWalstep(t)
	lab := filepath.Join(reachableTempDir(t), "lab")
	initLabWith(t, lab, hostileHooks(rootOnlyFile(t))[:2]...)
	took := termAfter(t, bin, []string{"run", "--lab", lab, "--backend", "local", "--archiver", "cp"}, "4c   Grant replication")
	if took > 45*time.Second {
		t.Errorf("walstep took %s to end after SIGTERM", took.Round(time.Second))
	}
	t.Logf("ended %s after SIGTERM", took.Round(100*time.Millisecond))
	if left := postgresOf(t, lab); len(left) > 0 {
		t.Errorf("postgres left running: %v", left)
	}
}

func TestHostileDockerSIGTERMAfterAPlantedFIFO(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	bin := buildWalstep(t)
	lab, flags := dockerLab(t, img)
	initLabWith(t, lab, hostileHooks(rootOnlyFile(t))[:2]...)
	took := termAfter(t, bin, append([]string{"run"}, flags...), "4c   Grant replication")
	if took > 60*time.Second {
		t.Errorf("walstep took %s to end after SIGTERM", took.Round(time.Second))
	}
	t.Logf("ended %s after SIGTERM", took.Round(100*time.Millisecond))
	assertNoDockerLeft(t, lab)
}

// Lab files that are links out of the lab (a hook to a root-only file, a
// conf to a file elsewhere) stop the run before it starts, with one line
// naming the link; nothing of them is copied where the server user reads
// or printed.
func TestHostileLabFileLinksAreRefused(t *testing.T) {
	t.Parallel()
	secret := rootOnlyFile(t)
	for _, backend := range []string{"local", "docker"} {
		for _, link := range []string{"hooks/after-13.primary.sh", "primary_restore.conf"} {
			t.Run(backend+"/"+link, func(t *testing.T) {
				flags := []string{"--backend", "local", "--archiver", "cp"}
				if backend == "docker" {
					img := requireDockerE2E(t)
					flags = []string{"--backend", "docker", "--archiver", "cp", "--image", img, "--init-image", img, "--prefix", "wshostile"}
				}
				lab := filepath.Join(reachableTempDir(t), "lab")
				initLabWith(t, lab)
				p := filepath.Join(lab, link)
				_ = os.Remove(p)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(secret, p); err != nil {
					t.Fatal(err)
				}
				code, stdout, stderr := runMain(append([]string{"run", "--lab", lab}, flags...)...)
				if code == 0 {
					t.Fatal("the run accepted a lab file that links out of the lab")
				}
				if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
					t.Errorf("want one line, got:\n%s", stderr)
				}
				oneLineError(t, stderr, link+" is a symbolic link to "+secret+", outside the lab")
				if strings.Contains(stdout+stderr, secretMarker) {
					t.Error("the linked file's content was printed")
				}
				for _, d := range []string{"primary-config", "replica-config", "primary-data"} {
					if _, err := os.Stat(filepath.Join(lab, d)); err == nil {
						t.Errorf("%s/ was made: the run went ahead", d)
					}
				}
			})
		}
	}
}

// A link to a root-only file planted in the standby's pg_wal makes
// PostgreSQL's pg_ls_waldir() fail: walstep lists pg_wal through its own
// file access instead, so the standby is still read whole (up, past the
// fork at 0/3000000) and walstep's reading leaves no ERROR in its log.
func TestHostileLocalLinkInStandbyWALStillReadWhole(t *testing.T) {
	t.Parallel()
	skipWithoutPostgres(t)
	dir := reachableTempDir(t)
	lab := filepath.Join(dir, "lab")
	// In a directory the server user cannot search, so that even a stat
	// of the link's target is refused, as for a file under /root.
	private := filepath.Join(dir, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(private, "root-only")
	if err := os.WriteFile(secret, []byte(secretMarker+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	initLabWith(t, lab, "hooks/after-F5.replica.sh", `ln -s '`+secret+`' "$PGDATA/pg_wal/0000000B.history"`+"\n")
	rep, code, stderr := runJSON(t, "--lab", lab, "--backend", "local", "--archiver", "cp")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, lastN(stderr, 20))
	}
	r := rep.Nodes[1]
	if r.Process != "up" || r.ReplayLSN != "0/3000000" {
		t.Errorf("replica read as %s at %q; want up, replayed to 0/3000000", r.Process, r.ReplayLSN)
	}
	log := read(t, filepath.Join(lab, "logs", "replica.log"))
	if strings.Contains(log, "could not stat") || strings.Contains(log, "pg_ls_waldir") {
		t.Errorf("walstep's reading left an error in the replica's log:\n%s", lastN(log, 10))
	}
	if strings.Contains(log, secretMarker) {
		t.Error("the root-only file's content is in the replica's log")
	}
}
