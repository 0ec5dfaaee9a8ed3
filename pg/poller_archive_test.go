package pg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"walstep/cluster"
)

// fakeSource is a Source with no servers: only data dirs and an archive
// on disk.
type fakeSource struct {
	dirs    map[cluster.Node]string
	storage string
}

func (f fakeSource) ReadFile(_ context.Context, n cluster.Node, a cluster.FileArea, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(f.area(n, a), name))
}

func (f fakeSource) ReadDir(_ context.Context, n cluster.Node, a cluster.FileArea, name string) ([]cluster.FileInfo, error) {
	return hostReadDir(filepath.Join(f.area(n, a), name))
}

func (f fakeSource) area(n cluster.Node, a cluster.FileArea) string {
	if a == cluster.AreaStorage {
		return f.storage
	}
	return f.dirs[n]
}

// hostReadDir lists a host directory as a backend's ReadDir does.
func hostReadDir(dir string) ([]cluster.FileInfo, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []cluster.FileInfo
	for _, e := range ents {
		fi := cluster.FileInfo{Name: e.Name(), Dir: e.IsDir()}
		if info, err := e.Info(); err == nil {
			fi.Size = info.Size()
		}
		out = append(out, fi)
	}
	return out, nil
}

func (f fakeSource) State(context.Context, cluster.Node) (cluster.ProcState, error) {
	return cluster.ProcState{}, nil
}

func (f fakeSource) ConnString(cluster.Node) string { return "host=127.0.0.1 port=1" }

func (f fakeSource) LogTail(context.Context, cluster.Node, int) ([]string, error) {
	return nil, nil
}

func (f fakeSource) ControlData(context.Context, cluster.Node) (string, error) {
	return "", errors.New("no pg_controldata here")
}

func (f fakeSource) Postmaster(context.Context, cluster.Node) (cluster.PostmasterFile, error) {
	return cluster.PostmasterFile{}, nil
}

func writeFile(t *testing.T, path string, size int, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if content == "" {
		content = strings.Repeat("x", size)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestListArchive(t *testing.T) {
	storage := t.TempDir()
	wal := filepath.Join(storage, cluster.WALDir)
	files := map[string]int{
		// WAL-G names (.lz4) on timeline 1, a backup label and a partial
		"000000010000000000000001.lz4":                 101,
		"000000010000000000000002.lz4":                 102,
		"000000010000000000000002.00000028.backup.lz4": 103,
		"000000010000000000000003.partial.lz4":         104,
		"00000002.history.lz4":                         105,
		// cp names on timeline 2
		"000000020000000000000003": 106,
		"0000000200000000000000FF": 107,
		// not WAL: ignored
		"README":                   1,
		"00000001000000000000000G": 1,
		"000000010000000000000100": 1, // segment number out of range for 16 MiB
		"0000000X.history":         1,
	}
	for name, size := range files {
		writeFile(t, filepath.Join(wal, name), size, "")
	}
	if err := os.MkdirAll(filepath.Join(wal, "archive_status"), 0o755); err != nil {
		t.Fatal(err)
	}
	bb := filepath.Join(storage, cluster.BackupsDir)
	for _, d := range []string{"base_000000010000000000000002", "base_000000010000000000000004", "base_00000002000000000000000A", ".incoming", "not_a_backup"} {
		writeFile(t, filepath.Join(bb, d, "backup_label"), 10, "")
	}
	for _, f := range []string{"base_000000010000000000000002_backup_stop_sentinel.json", "base_000000010000000000000004_backup_stop_sentinel.json", "base_000000010000000000000004.json", "metadata.json"} {
		writeFile(t, filepath.Join(bb, f), 2, "{}")
	}

	a := ListArchive(context.Background(), fakeSource{storage: storage})
	want := []ArchiveFile{
		{Name: "000000010000000000000001", TLI: 1, Start: 0x1000000, Size: 101},
		{Name: "000000010000000000000002", TLI: 1, Start: 0x2000000, Size: 102},
		{Name: "000000010000000000000002.00000028.backup", TLI: 1, Start: 0x2000000, Size: 103, Backup: true},
		{Name: "000000010000000000000003.partial", TLI: 1, Start: 0x3000000, Size: 104, Partial: true},
		{Name: "00000002.history", TLI: 2, Size: 105, History: true},
		{Name: "000000020000000000000003", TLI: 2, Start: 0x3000000, Size: 106},
		{Name: "0000000200000000000000FF", TLI: 2, Start: 0xFF000000, Size: 107},
	}
	if got, w := fmt.Sprintf("%+v", a.WAL), fmt.Sprintf("%+v", want); got != w {
		t.Errorf("WAL:\n got %s\nwant %s", got, w)
	}
	wantB := []string{"base_000000010000000000000002", "base_000000010000000000000004", "base_00000002000000000000000A"}
	if fmt.Sprint(a.Backups) != fmt.Sprint(wantB) {
		t.Errorf("backups %v, want %v", a.Backups, wantB)
	}

	// No storage at all: an empty archive, no panic.
	if e := ListArchive(context.Background(), fakeSource{storage: filepath.Join(storage, "missing")}); len(e.WAL) != 0 || len(e.Backups) != 0 {
		t.Errorf("missing storage lists %+v", e)
	}
}

// Histories come from the archive and from both data dirs' pg_wal: the
// archive's copy wins for a timeline found in several places, WAL-G's
// compressed .lz4 copies are not read, a malformed file is left out.
func TestPollHistories(t *testing.T) {
	root := t.TempDir()
	storage := filepath.Join(root, "storage")
	src := fakeSource{storage: storage, dirs: map[cluster.Node]string{
		cluster.Primary: filepath.Join(root, "primary-data"),
		cluster.Replica: filepath.Join(root, "replica-data"),
	}}
	wal := filepath.Join(storage, cluster.WALDir)
	ppg := filepath.Join(src.dirs[cluster.Primary], "pg_wal")
	rpg := filepath.Join(src.dirs[cluster.Replica], "pg_wal")
	writeFile(t, filepath.Join(wal, "00000002.history"), 0, "1\t0/2000100\treached consistency\n")
	writeFile(t, filepath.Join(ppg, "00000002.history"), 0, "1\t0/9000000\tnot this one\n")
	writeFile(t, filepath.Join(wal, "00000004.history.lz4"), 0, "\x04\x22\x4d\x18 compressed")
	writeFile(t, filepath.Join(ppg, "00000003.history"), 0, "1\t0/2000100\treached consistency\n2\t0/3000000\tno recovery target specified\n")
	writeFile(t, filepath.Join(rpg, "00000005.history"), 0, "# comment\n\n1\t0/2000100\tat consistency\n")
	writeFile(t, filepath.Join(rpg, "00000006.history"), 0, "garbage\n")
	writeFile(t, filepath.Join(rpg, "000000010000000000000002"), 16, "")

	p := NewPoller(src, PollerOptions{})
	defer p.Close()
	s := p.Poll(context.Background())
	var got []string
	for _, h := range s.Histories {
		got = append(got, fmt.Sprintf("%s %d %v", h.File, h.TLI, h.Entries))
	}
	want := []string{
		"00000002.history 2 [{1 0/2000100 reached consistency}]",
		"00000003.history 3 [{1 0/2000100 reached consistency} {2 0/3000000 no recovery target specified}]",
		"00000005.history 5 [{1 0/2000100 at consistency}]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("histories:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The data dirs exist but nothing runs: both read as stopped, no error.
	for _, r := range []Reading{s.Nodes[0], s.Nodes[1]} {
		if r.Up || r.Process != ProcNone || r.Role != RoleUnknown {
			t.Errorf("%s reads %q role %q", r.Node, r.Process, r.Role)
		}
	}
	if len(s.Archive.WAL) != 2 {
		t.Errorf("archive %+v, want the two history files", s.Archive.WAL)
	}
}

// heapInUse is the live heap after a forced collection.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// Memory stays flat across many polls of two running servers, one of
// which logs every statement (so its log grows with each poll): the
// readings keep LogLines lines, never the whole log.
func TestPollMemoryFlat(t *testing.T) {
	skipShort(t)
	polls := 7200 // an hour of polling at the default 500ms
	if s := os.Getenv("WALSTEP_POLLS"); s != "" {
		polls, _ = strconv.Atoi(s)
	}
	l := newPGLab(t)
	l.startPrimary(t)
	l.startStandby(t)
	var ok bool
	c, err := cluster.Connect(context.Background(), l.b.ConnString(cluster.Primary))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(context.Background(), "alter system set log_statement = 'all'"); err != nil {
		t.Fatal(err)
	}
	_ = c.Close(context.Background())
	exec1(t, l, cluster.Primary, "select pg_reload_conf()", &ok)

	p := NewPoller(l.b, PollerOptions{})
	defer p.Close()
	pollUntil(t, p, 30*time.Second, "streaming standby", func(s Snapshot) bool { return s.Nodes[1].Role == RoleStreaming })

	var last Snapshot // what a UI keeps: the latest snapshot
	for range 100 {   // warm up: connections, caches, pgx statement cache
		last = p.Poll(context.Background())
	}
	base, goroutines := heapInUse(), runtime.NumGoroutine()
	logSize := func() int64 {
		st, err := os.Stat(l.b.LogPath(cluster.Primary))
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	log0 := logSize()
	t0 := time.Now()
	mid := uint64(0)
	for i := range polls {
		last = p.Poll(context.Background())
		if i == polls/2 {
			mid = heapInUse()
		}
	}
	took := time.Since(t0)
	end := heapInUse()
	if !last.Nodes[0].Up || !last.Nodes[1].Up || len(last.Nodes[0].LogTail) != 200 {
		t.Fatalf("last poll: primary %s (%d log lines), replica %s", last.Nodes[0].Summary(), len(last.Nodes[0].LogTail), last.Nodes[1].Summary())
	}
	grew := logSize() - log0
	growth := int64(end) - int64(base)
	t.Logf("%d polls in %s (%s/poll); primary log grew %d KiB; heap in use %d KiB -> %d KiB (mid %d KiB), growth %+d KiB; goroutines %d -> %d",
		polls, took.Round(time.Millisecond), (took / time.Duration(polls)).Round(time.Microsecond), grew>>10, base>>10, end>>10, mid>>10, growth>>10, goroutines, runtime.NumGoroutine())
	if grew < int64(polls)*50 {
		t.Errorf("the primary's log grew only %d bytes: log_statement not in effect, the test proves less", grew)
	}
	const bound = 1 << 20
	if growth > bound {
		t.Errorf("heap in use grew %d KiB over %d polls, bound %d KiB", growth>>10, polls, bound>>10)
	}
	if n := runtime.NumGoroutine(); n > goroutines+2 {
		t.Errorf("goroutines %d -> %d over %d polls", goroutines, n, polls)
	}
}
