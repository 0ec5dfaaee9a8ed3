package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// OpenOptions are the user's choices of backend and archiver (the flags
// --backend, --archiver, --wal-g, --pg-bin, --image, --init-image, --prefix).
type OpenOptions struct {
	Backend   string // auto, local or docker
	Archiver  string // auto, cp or wal-g
	WalG      string // path of a wal-g binary; "" looks on PATH
	PGBin     string // PostgreSQL binaries for the local backend
	Image     string // Docker image for the servers
	InitImage string // Docker image for initdb
	Prefix    string // Docker container and network name prefix
	// StopNotes gets the lines of a stop at Close that the user must
	// know of (an immediate shutdown); nil drops them.
	StopNotes io.Writer
	// Topology is the servers the session runs (the playbook's nodes);
	// nil runs the seed's primary and replica.
	Topology Topology
}

// OpenOrInitLab opens dir as a lab, creating it with defaults when it does
// not exist (or is an empty directory).
func OpenOrInitLab(dir string) (*Lab, error) {
	if _, err := os.Stat(filepath.Join(dir, MarkerFile)); err == nil {
		return OpenLab(dir)
	}
	_, statErr := os.Stat(dir)
	lab, err := InitLab(dir)
	if err != nil {
		return nil, err
	}
	// Only a directory walstep made is opened up: a user's own empty dir
	// keeps its mode (Check says if the server user cannot reach it).
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := makeReachable(lab.Dir); err != nil {
			return nil, err
		}
	}
	return lab, nil
}

// CheckChoice refuses an unknown --backend or --archiver, before a lab is
// made for them.
func (o OpenOptions) CheckChoice() error {
	switch o.Backend {
	case "auto", "local", "docker":
	default:
		return fmt.Errorf("unknown --backend %q: use auto, local or docker", o.Backend)
	}
	switch o.Archiver {
	case "auto", "cp", "wal-g":
	default:
		return fmt.Errorf("unknown --archiver %q: use auto, cp or wal-g", o.Archiver)
	}
	return nil
}

// makeReachable lets the postgres user traverse the lab when walstep runs
// as root (servers run as postgres); it only touches the lab itself.
func makeReachable(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return os.Chmod(dir, 0o755)
}

// imageWalG is a backend whose servers run from an image: wal-g runs at
// /usr/local/bin/wal-g inside it, the image's own or a host binary mounted
// there with SetWalgBin.
type imageWalG interface {
	ImageHasExecutable(ctx context.Context, path string) bool
	SetWalgBin(hostBin string)
	Image() string
}

// hostWalG is a backend whose servers run a wal-g binary of the host.
type hostWalG interface {
	SetWalgBin(bin string)
}

// Open chooses and checks the backend and the archiver for lab, and says
// why each was chosen, one line each. A backend that cannot work is a
// one-line error. The caller closes the backend.
func Open(ctx context.Context, lab *Lab, o OpenOptions) (Backend, Archiver, []string, error) {
	if o.Topology != nil {
		if err := lab.SetTopology(o.Topology); err != nil {
			return nil, nil, nil, err
		}
	}
	b, why, err := openBackend(ctx, lab, o)
	if err != nil {
		return nil, nil, nil, err
	}
	arc, awhy, err := PickArchiver(o.Archiver, o.WalG)
	switch bb := b.(type) {
	case imageWalG:
		if o.WalG == "" && (o.Archiver == "auto" || o.Archiver == "" || o.Archiver == "wal-g" || o.Archiver == "walg") {
			arc, awhy, err = placeWalGInImage(ctx, bb, o, arc, err)
		}
	case hostWalG:
		if w, ok := arc.(WalG); ok && err == nil {
			bb.SetWalgBin(w.Bin)
		}
	}
	if err != nil {
		_ = b.Close(ctx, false)
		return nil, nil, nil, err
	}
	return b, arc, append(why, awhy), nil
}

// placeWalGInImage decides which wal-g the containers run: the image's
// /usr/local/bin/wal-g, else the one found on PATH mounted there, else
// the cp archiver (or an error when wal-g was asked for).
func placeWalGInImage(ctx context.Context, d imageWalG, o OpenOptions, arc Archiver, err error) (Archiver, string, error) {
	asked := ""
	if o.Archiver == "wal-g" || o.Archiver == "walg" {
		asked = " (asked for with --archiver wal-g)"
	}
	hostBin := ""
	if w, ok := arc.(WalG); ok && err == nil {
		hostBin = w.Bin
	}
	image := d.Image()
	switch {
	case d.ImageHasExecutable(ctx, "/usr/local/bin/wal-g"):
		return WalG{Bin: "/usr/local/bin/wal-g"}, "wal-g archiver" + asked + ": image " + image + " has /usr/local/bin/wal-g", nil
	case hostBin != "":
		d.SetWalgBin(hostBin)
		return arc, fmt.Sprintf("wal-g archiver%s: %s from PATH, mounted at /usr/local/bin/wal-g (image %s has none)", asked, hostBin, image), nil
	case asked != "":
		return arc, "", fmt.Errorf("--archiver wal-g: image %s has no /usr/local/bin/wal-g and there is no wal-g on PATH: pass --wal-g PATH (walstep mounts it there) or use --archiver cp", image)
	default:
		return CP{}, "cp archiver: no wal-g on PATH or in image " + image + " (pass --wal-g PATH to use WAL-G)", nil
	}
}

// openBackend resolves --backend: auto takes Docker when the engine answers
// and the images exist, else local.
func openBackend(ctx context.Context, lab *Lab, o OpenOptions) (Backend, []string, error) {
	newLocal := func() (*Local, error) {
		l, err := NewLocal(LocalOptions{Lab: lab, PGBin: o.PGBin, StopNotes: o.StopNotes})
		if err != nil {
			return nil, err
		}
		if err := l.Check(ctx); err != nil {
			return nil, err
		}
		return l, nil
	}
	newDocker := func() (*Docker, error) {
		walg := ""
		if o.WalG != "" {
			p, err := FindWalG(o.WalG)
			if err != nil {
				return nil, err
			}
			walg = p
		}
		d, err := NewDocker(DockerOptions{Lab: lab, InitImage: o.InitImage, Image: o.Image, Prefix: o.Prefix, WalgBin: walg, StopNotes: o.StopNotes})
		if err != nil {
			return nil, err
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := d.Check(cctx); err != nil {
			_ = d.Close(ctx, false)
			return nil, err
		}
		return d, nil
	}
	switch o.Backend {
	case "local":
		l, err := newLocal()
		if err != nil {
			return nil, nil, err
		}
		return l, []string{"local backend (asked for with --backend local), binaries in " + l.PGBin()}, nil
	case "docker":
		d, err := newDocker()
		if err != nil {
			return nil, nil, err
		}
		return d, []string{"docker backend (asked for with --backend docker), image " + o.Image}, nil
	case "auto", "":
		d, derr := newDocker()
		if derr == nil {
			return d, []string{"docker backend: the engine answers and " + o.Image + " exists"}, nil
		}
		l, err := newLocal()
		if err != nil {
			return nil, nil, fmt.Errorf("no backend can run: docker: %v; local: %w", derr, err)
		}
		return l, []string{fmt.Sprintf("local backend with %s (docker not used: %v)", l.PGBin(), derr)}, nil
	default:
		return nil, nil, fmt.Errorf("unknown --backend %q: use auto, local or docker", o.Backend)
	}
}

// CleanOptions say what CleanLab tidies besides the lab's generated dirs.
type CleanOptions struct {
	// Prefix names the short-lived container that removes root-owned
	// files; the lab's containers are found by its label, whatever their
	// prefix.
	Prefix string
	// Image, InitImage: the Docker images used to remove root-owned files.
	Image, InitImage string
	// Out receives one line per thing done (a stopped server, a Docker
	// engine not reachable).
	Out io.Writer
}

// CleanLab stops the lab's servers wherever they run (local postmasters
// whose data dir is in the lab, containers labelled with the lab) and
// removes the lab's generated dirs, keeping its editable files.
func CleanLab(ctx context.Context, lab *Lab, o CleanOptions) error {
	out := orDiscard(o.Out)
	if err := stopLocalServers(ctx, lab, out); err != nil {
		return err
	}
	if err := Clean(ctx, lab); err != nil {
		if !errors.Is(err, ErrDockerUnavailable) {
			return err
		}
		// Containers that cannot be seen may still run on the data dirs:
		// removing those under them would lose what they write.
		if b, serr := os.ReadFile(lab.Path(DockerUsedFile)); serr == nil {
			return fmt.Errorf("%w; this lab's containers ran on %s and may still use its data dirs, so nothing was removed: start the engine (or set DOCKER_HOST) and clean again", err, strings.TrimSpace(string(b)))
		}
		fmt.Fprintln(out, "docker engine not reachable: this lab never ran containers, none to remove")
	} else {
		_ = os.Remove(lab.Path(DockerUsedFile))
	}
	var remover func(string) error
	if d, err := NewDocker(DockerOptions{Lab: lab, Image: o.Image, InitImage: o.InitImage, Prefix: o.Prefix}); err == nil {
		remover = func(p string) error { return d.RemoveAll(ctx, p) }
		defer d.Close(ctx, false)
	}
	if err := lab.Reset(remover); err != nil {
		return err
	}
	return lab.Remove(remover, lab.Path(CheckpointsDir))
}

// stopLocalServers stops any postmaster whose data dir is in this lab.
func stopLocalServers(ctx context.Context, lab *Lab, out io.Writer) error {
	for _, n := range lab.KnownStopOrder() {
		d := DataDirName(n)
		if pid := PostmasterPID(lab.Path(d)); pid > 0 {
			fmt.Fprintf(out, "stopping postgres pid %d (%s)\n", pid, d)
			if err := StopPID(ctx, pid, 60*time.Second); err != nil {
				return fmt.Errorf("stop postgres %d: %w", pid, err)
			}
		}
	}
	return nil
}
