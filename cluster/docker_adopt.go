package cluster

import (
	"context"
	"fmt"
	"os"
	"strings"
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
	for _, n := range d.lab.Topology().Nodes() {
		if _, err := os.Lstat(d.DataDir(n) + "/pg_hba.conf"); os.IsNotExist(err) {
			continue
		}
		line := hbaLine(gw)
		if d.socketAuth() {
			// walstep comes through the lab's socket: the copy's trust
			// for another lab's gateway goes, its marker stays.
			line = "# " + hbaMarker
		}
		marked := func(l string) (string, bool) { return line, strings.Contains(l, hbaMarker) }
		if err := ReplaceLines(d.lab.Dir, areaDir(n, AreaData), "pg_hba.conf", marked); err != nil {
			return fmt.Errorf("adopt copied %s data: %w", n, err)
		}
	}
	return nil
}
