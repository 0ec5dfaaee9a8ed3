package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// CheckpointsDir holds the lab's checkpoints: copies of its generated
// state between steps. A reset (step 0) keeps it, clean removes it.
const CheckpointsDir = "checkpoints"

// CopyHow is how CopyTree copies a tree's regular files.
type CopyHow int

const (
	// CopyClone shares the blocks where the filesystem can (a reflink)
	// and copies them where it cannot.
	CopyClone CopyHow = iota
	// CopyLink hard-links each file: for files written once and never
	// changed (an archive's segments and backups), whose copy costs
	// nothing then.
	CopyLink
)

// CopyTree copies the tree at src to dst, which must not exist, keeping
// owners, modes, times and links as links (cp -a: nothing below src is
// followed, a FIFO or socket is made anew, never read). It needs the
// right to read what the servers own and to hand files to their owners:
// root on this host, where the lab is (the Docker backend bind-mounts it).
func CopyTree(ctx context.Context, src, dst string, how CopyHow) error {
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("copy %s: %s exists already", filepath.Base(src), dst)
	}
	if os.Geteuid() != 0 {
		return errors.New("copy " + filepath.Base(src) + ": copying the servers' files keeping their owners needs root on this host")
	}
	args := []string{"-a", "--reflink=auto"}
	if how == CopyLink {
		args = []string{"-a", "--link"}
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "cp", append(args, "--", src, dst)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("copy %s: %w: %s", filepath.Base(src), err, firstLine(out.String()))
	}
	return nil
}

// firstLine is the first line of a program's message, for a one-line
// error (cp says the same for every file of a full disk).
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// GeneratedNames are the names (relative to the lab) of what a run of
// the seed's nodes generates, in the order a copy of the lab's state
// takes them; Lab.GeneratedNames adds the lab's other nodes, and
// GeneratedIn those a copy holds.
func GeneratedNames() []string { return SeedLab().GeneratedNames() }

// SeedLab is a lab value that knows only the seed's nodes, for the names
// of a lab's dirs where no lab is at hand.
func SeedLab() *Lab { return &Lab{} }

// GeneratedIn are the generated names a lab or a copy of one at dir holds:
// the seed's, and the data and config dirs of any other node found there.
func GeneratedIn(dir string) []string {
	out := GeneratedNames()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	for _, e := range ents {
		name := e.Name()
		for _, suffix := range []string{"-data", "-config"} {
			n, ok := strings.CutSuffix(name, suffix)
			if ok && e.IsDir() && CheckNodeName(n) == nil && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

// CopyGenerated copies the generated dirs of the lab at from into the
// directory to (a run's lab, or a checkpoint), each with CopyTree: the
// archive hard-linked when linkArchive is set (its files are written once),
// the rest cloned. A dir from does not have is left out.
func CopyGenerated(ctx context.Context, from, to string, linkArchive bool) error {
	for _, name := range GeneratedIn(from) {
		src := filepath.Join(from, name)
		if _, err := os.Lstat(src); err != nil {
			continue
		}
		how := CopyClone
		if linkArchive && name == StorageDir {
			how = CopyLink
		}
		if err := CopyTree(ctx, src, filepath.Join(to, name), how); err != nil {
			return err
		}
	}
	return nil
}
