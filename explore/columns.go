package explore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"walstep/cluster"
)

// KnownVersions are the PostgreSQL majors scripts/test-image.sh and
// scripts/runner-image.sh know a Debian suite for.
var KnownVersions = []int{13, 15, 17, 18}

// KnownArchivers are the archivers a column may use.
var KnownArchivers = []string{"cp", "wal-g"}

// ImageFor is the test image of a major version with or without WAL-G.
func ImageFor(pg int, walg bool) string {
	if walg {
		return fmt.Sprintf("walstep-test-pg:%d-walg", pg)
	}
	return fmt.Sprintf("walstep-test-pg:%d", pg)
}

// SplitList splits a comma-separated flag value, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Request is what the user asked for on the command line.
type Request struct {
	Backend   string // auto, local or docker
	PG        string // "13,15,17"; "" = the backend's own version
	Archivers string // "cp,wal-g"; "" = cp
	PGBin     string // --pg-bin: the local backend's binaries
	WalG      string // --wal-g: a wal-g binary for the local backend
	// Images are --image N=TAG: the Docker image of major N (servers and
	// initdb, both archivers), any major, instead of walstep-test-pg:N.
	Images map[int]string
}

// ParseImages reads --image: N=TAG pairs, comma-separated.
func ParseImages(s string) (map[int]string, error) {
	out := map[int]string{}
	for _, f := range SplitList(s) {
		v, tag, ok := strings.Cut(f, "=")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || err != nil || n <= 0 || strings.TrimSpace(tag) == "" {
			return nil, fmt.Errorf("--image %q: give MAJOR=TAG, e.g. --image 18=postgres_repro:18 (comma-separated for several)", f)
		}
		out[n] = strings.TrimSpace(tag)
	}
	return out, nil
}

// Resolved is the backend and the matrix's columns.
type Resolved struct {
	Backend string
	Columns []Column
	WalG    string // local backend: the wal-g binary
	Why     string // how the backend was chosen
}

// installedVersions maps the majors installed under /usr/lib/postgresql
// (or the one in --pg-bin) to their bin directories.
func installedVersions(pgBin string) map[int]string {
	out := map[int]string{}
	if pgBin != "" {
		if dir, err := cluster.FindPGBin(pgBin); err == nil {
			if v := binVersion(dir); v > 0 {
				out[v] = dir
			}
		}
		return out
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			if v := binVersion(d); v > 0 {
				out[v] = d
			}
		}
	}
	return out
}

// binVersion reads the major version from a Debian-style path
// /usr/lib/postgresql/N/bin, else from PG_VERSION-like "postgres -V".
func binVersion(dir string) int {
	if n, err := strconv.Atoi(filepath.Base(filepath.Dir(dir))); err == nil {
		return n
	}
	return 0
}

func versionsText(m map[int]string) string {
	var vs []int
	for v := range m {
		vs = append(vs, v)
	}
	sort.Ints(vs)
	var s []string
	for _, v := range vs {
		s = append(s, strconv.Itoa(v))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func parseVersions(s string, images map[int]string) ([]int, error) {
	var out []int
	known := map[int]bool{}
	for _, v := range KnownVersions {
		known[v] = true
	}
	for v := range images {
		known[v] = true
	}
	for _, f := range SplitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || !known[n] {
			return nil, fmt.Errorf("unknown PostgreSQL version %q: --pg takes 13, 15, 17 or 18 (comma-separated), or another major with --image N=TAG", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseArchivers(s string) ([]string, error) {
	if s == "" {
		return []string{"cp"}, nil
	}
	var out []string
	for _, f := range SplitList(s) {
		if f == "walg" {
			f = "wal-g"
		}
		if f != "cp" && f != "wal-g" {
			return nil, fmt.Errorf("unknown archiver %q: --archiver takes cp and wal-g (comma-separated)", f)
		}
		out = append(out, f)
	}
	return out, nil
}

// Resolve checks the request against what this machine has and returns the
// columns to run. Each refusal is one line naming what exists and, for a
// missing image, how to build it.
func Resolve(ctx context.Context, r Request) (Resolved, error) {
	pgs, err := parseVersions(r.PG, r.Images)
	if err != nil {
		return Resolved{}, err
	}
	arcs, err := parseArchivers(r.Archivers)
	if err != nil {
		return Resolved{}, err
	}
	switch r.Backend {
	case "local":
		if len(r.Images) > 0 {
			return Resolved{}, errors.New("--image names Docker images: use it with --backend docker (or auto)")
		}
		return resolveLocal(pgs, arcs, r)
	case "docker":
		return resolveDocker(ctx, pgs, arcs, r.Images)
	case "auto", "":
		d, derr := resolveDocker(ctx, pgs, arcs, r.Images)
		if derr == nil {
			d.Why = "docker backend: the engine answers and every column's image exists"
			return d, nil
		}
		l, lerr := resolveLocal(pgs, arcs, r)
		if lerr != nil {
			return Resolved{}, fmt.Errorf("no backend can run this matrix: docker: %v; local: %w", derr, lerr)
		}
		l.Why = fmt.Sprintf("local backend (docker not used: %v)", derr)
		return l, nil
	default:
		return Resolved{}, fmt.Errorf("unknown --backend %q: use auto, local or docker", r.Backend)
	}
}

func resolveLocal(pgs []int, arcs []string, r Request) (Resolved, error) {
	have := installedVersions(r.PGBin)
	if len(pgs) == 0 {
		dir, err := cluster.FindPGBin(r.PGBin)
		if err != nil {
			return Resolved{}, err
		}
		v := binVersion(dir)
		if v == 0 {
			return Resolved{}, fmt.Errorf("cannot tell the PostgreSQL version of %s: pass --pg with the version", dir)
		}
		have[v] = dir
		pgs = []int{v}
	}
	res := Resolved{Backend: "local", Why: "local backend (asked for with --backend local)"}
	for _, a := range arcs {
		if a == "wal-g" && res.WalG == "" {
			bin, err := cluster.FindWalG(r.WalG)
			if err != nil {
				return Resolved{}, fmt.Errorf("--archiver wal-g: no wal-g binary (%v): pass --wal-g PATH", err)
			}
			res.WalG = bin
		}
	}
	for _, v := range pgs {
		dir, ok := have[v]
		if !ok {
			return Resolved{}, fmt.Errorf("PostgreSQL %d is not installed for the local backend (installed: %s): install postgresql-%d or use --backend docker", v, versionsText(have), v)
		}
		for _, a := range arcs {
			res.Columns = append(res.Columns, Column{PG: v, Archiver: a, PGBin: dir})
		}
	}
	return res, nil
}

func resolveDocker(ctx context.Context, pgs []int, arcs []string, images map[int]string) (Resolved, error) {
	if len(pgs) == 0 {
		pgs = []int{15}
	}
	res := Resolved{Backend: "docker", Why: "docker backend (asked for with --backend docker)"}
	for _, v := range pgs {
		for _, a := range arcs {
			if img, ok := images[v]; ok {
				ok, err := cluster.ImageExists(ctx, img)
				if err != nil {
					return Resolved{}, err
				}
				if !ok {
					return Resolved{}, fmt.Errorf("no image %s (--image %d=%s): build or pull it first (walstep never pulls)", img, v, img)
				}
				res.Columns = append(res.Columns, Column{PG: v, Archiver: a, Image: img})
				continue
			}
			img := ImageFor(v, a == "wal-g")
			ok, err := cluster.ImageExists(ctx, img)
			if err != nil {
				return Resolved{}, err
			}
			if !ok && a == "cp" {
				// The WAL-G image is the plain one plus a binary: cp runs there too.
				if alt := ImageFor(v, true); alt != img {
					if ok2, _ := cluster.ImageExists(ctx, alt); ok2 {
						img, ok = alt, true
					}
				}
			}
			if !ok {
				flag := ""
				if a == "wal-g" {
					flag = " --walg"
				}
				return Resolved{}, fmt.Errorf("no image %s for PostgreSQL %d with %s: build it with scripts/test-image.sh --pg %d%s", img, v, a, v, flag)
			}
			res.Columns = append(res.Columns, Column{PG: v, Archiver: a, Image: img})
		}
	}
	return res, nil
}
