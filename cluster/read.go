package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"time"
)

// AreaStorage is the archive (the seed's /wal-g-storage), shared by both
// nodes. It is for reading only: WriteFile takes AreaData or AreaConfig.
const AreaStorage = AreaConfig + 1

// FileInfo is one entry of a directory listed through a backend.
type FileInfo struct {
	Name    string
	Dir     bool
	Size    int64
	ModTime time.Time
	// Link is the target when the entry is a symbolic link (not followed).
	Link string
}

// labFiles reads the servers' directories where they sit in the lab: both
// backends keep them there (Docker bind-mounts them), so they share it. A
// backend without the lab on its host would read through its own API.
type labFiles struct{ lab *Lab }

// areaPath is the host path of name in node's area; name must stay inside.
func (f labFiles) areaPath(node Node, area FileArea, name string) (string, error) {
	if name != "" && !filepath.IsLocal(name) {
		return "", fmt.Errorf("read %s: not a path inside the %s's %s", name, node, areaName(area))
	}
	dir := f.lab.Path(areaDir(node, area))
	if area == AreaStorage {
		dir = f.lab.Path(StorageDir)
	}
	return filepath.Join(dir, name), nil
}

func areaName(a FileArea) string {
	switch a {
	case AreaConfig:
		return "config dir"
	case AreaStorage:
		return "archive"
	}
	return "data dir"
}

func (f labFiles) readFile(ctx context.Context, node Node, area FileArea, name string) ([]byte, error) {
	if _, err := f.areaPath(node, area, name); err != nil {
		return nil, err
	}
	return ReadBelow(ctx, f.lab.Dir, filepath.Join(areaDir(node, area), name), MaxServerFile)
}

func (f labFiles) readDir(ctx context.Context, node Node, area FileArea, name string) ([]FileInfo, error) {
	if _, err := f.areaPath(node, area, name); err != nil {
		return nil, err
	}
	return ListBelow(ctx, f.lab.Dir, filepath.Join(areaDir(node, area), name))
}

func sortInfos(fis []FileInfo) {
	sort.Slice(fis, func(i, j int) bool { return fis[i].Name < fis[j].Name })
}

// ReadFile implements Backend.
func (l *Local) ReadFile(ctx context.Context, node Node, area FileArea, name string) ([]byte, error) {
	return labFiles{l.lab}.readFile(ctx, node, area, name)
}

// ReadDir implements Backend.
func (l *Local) ReadDir(ctx context.Context, node Node, area FileArea, name string) ([]FileInfo, error) {
	return labFiles{l.lab}.readDir(ctx, node, area, name)
}

// ReadFile implements Backend: the bind-mounted directories are read on
// the host, whether or not a container runs.
func (d *Docker) ReadFile(ctx context.Context, node Node, area FileArea, name string) ([]byte, error) {
	return labFiles{d.lab}.readFile(ctx, node, area, name)
}

// ReadDir implements Backend.
func (d *Docker) ReadDir(ctx context.Context, node Node, area FileArea, name string) ([]FileInfo, error) {
	return labFiles{d.lab}.readDir(ctx, node, area, name)
}

// ServerScratch is implemented by backends whose server-user commands
// run on this host: ServerScratch makes (fd-relative, no link followed)
// and returns a directory inside the lab that the server user owns, where
// such commands stage files. The lab's run/ itself is walstep's; this one
// is the server user's, so what it stages there is read with its rights.
type ServerScratch interface {
	ServerScratch() (string, error)
}

// StagingDir is the server user's staging directory under run/.
const StagingDir = "staging"

// ServerScratch implements ServerScratch: run/staging, 0700, the server
// user's.
func (l *Local) ServerScratch() (string, error) {
	d := l.lab.Path(RunDir, StagingDir)
	if err := l.prepareDir(d, 0o700); err != nil {
		return "", fmt.Errorf("make the staging directory: %w", err)
	}
	return d, nil
}
