package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// hbaMarker ends the pg_hba.conf line hbaLine writes, so it can be found.
const hbaMarker = "# walstep: lets the side panel poll from the host"

// AdoptCopiedData makes data dirs copied from another lab's run usable by
// this backend: the pg_hba.conf entry that lets the host poll names the
// other lab's network gateway, so it is rewritten for this lab's network.
func (d *Docker) AdoptCopiedData(ctx context.Context) error {
	_, gw, err := d.ensureNetwork(ctx)
	if err != nil {
		return err
	}
	for _, n := range Nodes {
		path := d.DataDir(n) + "/pg_hba.conf"
		if _, err := os.Lstat(path); os.IsNotExist(err) {
			continue
		}
		line := hbaLine(gw)
		if d.socketAuth() {
			// walstep comes through the lab's socket: the copy's trust
			// for another lab's gateway goes, its marker stays.
			line = "# " + hbaMarker
		}
		if err := replaceMarkedLine(path, hbaMarker, line); err != nil {
			return fmt.Errorf("adopt copied %s data: %w", n, err)
		}
	}
	return nil
}

// replaceMarkedLine replaces each line containing marker with line, in
// place so the file keeps its owner and mode, never through a symlink.
func replaceMarkedLine(path, marker, line string) error {
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	lines := strings.Split(string(b), "\n")
	changed := false
	for i, l := range lines {
		if strings.Contains(l, marker) && l != line {
			lines[i], changed = line, true
		}
	}
	if !changed {
		return nil
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err = f.WriteAt([]byte(strings.Join(lines, "\n")), 0)
	return err
}
