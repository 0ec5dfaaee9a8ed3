package explore

import (
	"context"
	"fmt"
	"os"
	"strings"

	"walstep/cluster"
)

// CanShare says whether runs may start from a copy of a shared prefix:
// copying keeps its files' owners, which only root can do for the files
// containers own.
func (r Resolved) CanShare() bool {
	return r.Backend == "local" || os.Geteuid() == 0
}

// Servers are what a job's backend runs its servers from: an image in
// Docker, binaries (and wal-g) locally.
type Servers struct {
	Image, InitImage string
	PGBin, WalG      string
}

// Servers are what j's servers run from.
func (j Job) Servers() Servers {
	if j.Backend == "docker" {
		return Servers{Image: j.Column.Image, InitImage: j.Column.Image}
	}
	return Servers{PGBin: j.Column.PGBin, WalG: j.WalG}
}

// RunBackendNote says when `walstep run` and the debugger would take
// another backend than explore did under auto: they need the images of
// --image and --init-image (image and initImage), explore one image per column, so the same lab
// may get Docker from one and local from the other.
func RunBackendNote(ctx context.Context, asked, chose, image, initImage string) string {
	if asked != "auto" && asked != "" {
		return ""
	}
	var missing []string
	for _, img := range []string{image, initImage} {
		ok, err := cluster.ImageExists(ctx, img)
		if err != nil {
			return "" // no engine: run takes local too
		}
		if !ok {
			missing = append(missing, img)
		}
	}
	switch {
	case chose == "docker" && len(missing) > 0:
		return fmt.Sprintf("note: walstep run on this lab would take the local backend under auto: %s not here (--image, --init-image); explore runs each column on its own image", strings.Join(missing, " and "))
	case chose == "local" && len(missing) == 0:
		return fmt.Sprintf("note: walstep run on this lab would take docker under auto (%s and %s are here); explore took local since a column's image is missing", image, initImage)
	}
	return ""
}
