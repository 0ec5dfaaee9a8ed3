package cluster

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// LabCopier is a backend that copies a lab's generated dirs itself where
// walstep cannot keep their owners: Docker without root on this host,
// where the servers' files are the image's postgres user's.
type LabCopier interface {
	// CopyGenerated is the package's CopyGenerated (from and to inside
	// the lab); replace removes to's generated dirs first.
	CopyGenerated(ctx context.Context, from, to string, linkArchive, replace bool) error
}

// copyScript does CopyGenerated in a container: $1 from, $2 to, $3 1 to
// hard-link the archive, $4 1 to replace, then the dirs' names.
const copyScript = `set -e
from=$1 to=$2 link=$3 replace=$4
shift 4
for n in "$@"; do
	if [ "$replace" = 1 ]; then rm -rf -- "$to/$n"; fi
	if [ -e "$from/$n" ] || [ -h "$from/$n" ]; then
		if [ "$link" = 1 ] && [ "$n" = ` + StorageDir + ` ]; then
			cp -a --link -- "$from/$n" "$to/$n"
		else
			cp -a --reflink=auto -- "$from/$n" "$to/$n"
		fi
	fi
done`

// CopyGenerated implements LabCopier: one short-lived root container
// that mounts the lab copies every dir (cp -a keeps the owners).
func (d *Docker) CopyGenerated(ctx context.Context, from, to string, linkArchive, replace bool) error {
	const mnt = "/walstep-lab"
	inLab := func(p string) (string, error) {
		rel, err := filepath.Rel(d.lab.Dir, filepath.Clean(p))
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
			return "", fmt.Errorf("copy the lab's dirs: %s is outside the lab %s", p, d.lab.Dir)
		}
		return mnt + "/" + rel, nil
	}
	src, err := inLab(from)
	if err != nil {
		return err
	}
	dst, err := inLab(to)
	if err != nil {
		return err
	}
	flag := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	argv := append([]string{"sh", "-c", copyScript, "sh", src, dst, flag(linkArchive), flag(replace)}, d.lab.GeneratedNames()...)
	var out bytes.Buffer
	err = d.runTask(ctx, task{image: d.image, node: "copy", user: "root", argv: argv, binds: []string{d.lab.Dir + ":" + mnt}, out: &out, quiet: true, show: "cp -a (the lab's dirs)"})
	if err != nil {
		return fmt.Errorf("copy the lab's dirs in a root container: %w: %s", err, firstLine(out.String()))
	}
	return nil
}
