package proctest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Proc is one live (not zombie) process.
type Proc struct {
	Pid, PPid, PGid int
	Cmd             string // its command line, arguments joined by spaces
}

func (p Proc) String() string { return fmt.Sprintf("%d %s", p.Pid, p.Cmd) }

// all reads every live process.
func all() []Proc {
	ents, _ := os.ReadDir("/proc")
	var out []Proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := read(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

// read is pid's entry; false when it is gone or a zombie.
func read(pid int) (Proc, bool) {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return Proc{}, false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Proc{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 3 || f[0] == "Z" {
		return Proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	pgid, _ := strconv.Atoi(f[2])
	cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	return Proc{Pid: pid, PPid: ppid, PGid: pgid, Cmd: strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))}, true
}

// Below lists the live descendants of root (root itself left out).
func Below(root int) []Proc {
	procs := all()
	kids := map[int][]Proc{}
	for _, p := range procs {
		kids[p.PPid] = append(kids[p.PPid], p)
	}
	var out []Proc
	queue := []int{root}
	for len(queue) > 0 {
		for _, k := range kids[queue[0]] {
			out = append(out, k)
			queue = append(queue, k.Pid)
		}
		queue = queue[1:]
	}
	return out
}

// Mine lists the live descendants of this test process whose command line
// names sub: what the in-process runs of this test started (a subreaper
// adopts what they orphaned), told apart from other tests' by their path.
func Mine(sub string) []Proc {
	var out []Proc
	for _, p := range Below(os.Getpid()) {
		if strings.Contains(p.Cmd, sub) {
			out = append(out, p)
		}
	}
	return out
}

// InGroup lists the live processes of process group pgid.
func InGroup(pgid int) []Proc {
	var out []Proc
	for _, p := range all() {
		if p.PGid == pgid {
			out = append(out, p)
		}
	}
	return out
}

// OfLab lists the postmasters a postmaster.pid below dir names, each
// alive and running in that data dir (its cwd), with their children,
// whoever started them.
func OfLab(dir string) []Proc {
	var out []Proc
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == "pg_wal" || d.Name() == "base" || d.Name() == "wal-g-storage" || d.Name() == "checkpoints") {
			return fs.SkipDir
		}
		if d.Name() != "postmaster.pid" || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		first, _, _ := strings.Cut(string(b), "\n")
		pid, err := strconv.Atoi(strings.TrimSpace(first))
		if err != nil || pid <= 1 {
			return nil
		}
		p, ok := read(pid)
		want, _ := filepath.EvalSymlinks(filepath.Dir(path))
		if cwd, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "cwd")); !ok || err != nil || cwd != want {
			return nil
		}
		out = append(out, p)
		out = append(out, Below(pid)...)
		return nil
	})
	return out
}

// Union lists each process of the lists once, in order.
func Union(lists ...[]Proc) []Proc {
	seen := map[int]bool{}
	var out []Proc
	for _, l := range lists {
		for _, p := range l {
			if !seen[p.Pid] {
				seen[p.Pid] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// Strings is each process as "pid command line".
func Strings(ps []Proc) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
