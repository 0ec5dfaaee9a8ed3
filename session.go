package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"walstep/cluster"
	"walstep/pg"
	"walstep/steps"
)

// session wires a lab, a backend, an archiver, the playbook and the poller;
// `run` and the TUI both drive one.
type session struct {
	lab      *cluster.Lab
	backend  cluster.Backend
	archiver cluster.Archiver
	env      *steps.Env
	steps    []steps.Step
	poller   *pg.Poller
	why      []string // how the backend and archiver were chosen
}

// initLab opens dir as a lab, creating it with defaults when it does not
// exist (or is an empty directory).
func initLab(dir string) (*cluster.Lab, error) {
	if _, err := os.Stat(filepath.Join(dir, cluster.MarkerFile)); err == nil {
		return cluster.OpenLab(dir)
	}
	lab, err := cluster.InitLab(dir)
	if err != nil {
		return nil, err
	}
	if err := makeReachable(lab.Dir); err != nil {
		return nil, err
	}
	return lab, nil
}

// makeReachable lets the postgres user traverse the lab when walstep runs
// as root (servers run as postgres); it only touches the lab itself.
func makeReachable(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return os.Chmod(dir, 0o755)
}

// openSession builds a session from the flags and checks that the chosen
// backend can work, with a one-line error when it cannot.
func openSession(ctx context.Context, o options) (*session, error) {
	lab, err := initLab(o.lab)
	if err != nil {
		return nil, err
	}
	s := &session{lab: lab}
	if err := s.pickBackend(ctx, o); err != nil {
		return nil, err
	}
	arc, why, err := cluster.PickArchiver(o.archiver, o.walg)
	if d, ok := s.backend.(*cluster.Docker); ok && o.walg == "" && (o.archiver == "auto" || o.archiver == "" || o.archiver == "wal-g" || o.archiver == "walg") {
		// The containers run wal-g at /usr/local/bin/wal-g: the seed's
		// image carries one; else the one found on PATH is mounted there.
		asked := ""
		if o.archiver == "wal-g" || o.archiver == "walg" {
			asked = " (asked for with --archiver wal-g)"
		}
		hostBin := ""
		if w, ok := arc.(cluster.WalG); ok && err == nil {
			hostBin = w.Bin
		}
		switch {
		case d.ImageHasExecutable(ctx, "/usr/local/bin/wal-g"):
			arc, why, err = cluster.WalG{Bin: "/usr/local/bin/wal-g"}, "wal-g archiver"+asked+": image "+o.image+" has /usr/local/bin/wal-g", nil
		case hostBin != "":
			d.SetWalgBin(hostBin)
			why = fmt.Sprintf("wal-g archiver%s: %s from PATH, mounted at /usr/local/bin/wal-g (image %s has none)", asked, hostBin, o.image)
		case asked != "":
			err = fmt.Errorf("--archiver wal-g: image %s has no /usr/local/bin/wal-g and there is no wal-g on PATH: pass --wal-g PATH (walstep mounts it there) or use --archiver cp", o.image)
		default:
			why = "cp archiver: no wal-g on PATH or in image " + o.image + " (pass --wal-g PATH to use WAL-G)"
		}
	}
	if err != nil {
		_ = s.backend.Close(ctx, false)
		return nil, err
	}
	if w, ok := arc.(cluster.WalG); ok {
		if l, ok := s.backend.(*cluster.Local); ok {
			l.SetWalgBin(w.Bin)
		}
	}
	s.archiver = arc
	s.why = append(s.why, why)
	to := steps.DefaultTimeouts
	if o.stepTO > 0 {
		to.Ready, to.Promote, to.Shutdown = o.stepTO, o.stepTO, o.stepTO
	}
	s.env = &steps.Env{Lab: lab, Backend: s.backend, Archiver: arc, Timeouts: to}
	s.steps = steps.Playbook(s.env)
	hooks, warnings, err := steps.FindHooks(lab, s.steps)
	if err != nil {
		_ = s.backend.Close(ctx, false)
		return nil, err
	}
	s.steps = steps.WithHooks(s.env, s.steps, hooks)
	for _, h := range hooks {
		s.why = append(s.why, fmt.Sprintf("hook %s runs after step %s", filepath.Base(h.Path), h.After))
	}
	s.why = append(s.why, warnings...)
	s.poller = pg.NewPoller(s.backend, lab.Path(cluster.StorageDir), pg.PollerOptions{})
	return s, nil
}

// pickBackend resolves --backend: auto takes Docker when the engine answers
// and the images exist, else local.
func (s *session) pickBackend(ctx context.Context, o options) error {
	newLocal := func() (cluster.Backend, error) {
		l, err := cluster.NewLocal(cluster.LocalOptions{Lab: s.lab, PGBin: o.pgBin})
		if err != nil {
			return nil, err
		}
		if err := l.Check(ctx); err != nil {
			return nil, err
		}
		return l, nil
	}
	newDocker := func() (*cluster.Docker, error) {
		walg := ""
		if o.walg != "" {
			p, err := cluster.FindWalG(o.walg)
			if err != nil {
				return nil, err
			}
			walg = p
		}
		d, err := cluster.NewDocker(cluster.DockerOptions{Lab: s.lab, InitImage: o.initImage, Image: o.image, Prefix: o.prefix, WalgBin: walg})
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
	switch o.backend {
	case "local":
		b, err := newLocal()
		if err != nil {
			return err
		}
		s.backend = b
		s.why = append(s.why, "local backend (asked for with --backend local), binaries in "+b.(*cluster.Local).PGBin())
	case "docker":
		d, err := newDocker()
		if err != nil {
			return err
		}
		s.backend = d
		s.why = append(s.why, "docker backend (asked for with --backend docker), image "+o.image)
	case "auto", "":
		d, derr := newDocker()
		if derr == nil {
			s.backend = d
			s.why = append(s.why, "docker backend: the engine answers and "+o.image+" exists")
			return nil
		}
		b, err := newLocal()
		if err != nil {
			return fmt.Errorf("no backend can run: docker: %v; local: %w", derr, err)
		}
		s.backend = b
		s.why = append(s.why, fmt.Sprintf("local backend with %s (docker not used: %v)", b.(*cluster.Local).PGBin(), derr))
	default:
		return fmt.Errorf("unknown --backend %q: use auto, local or docker", o.backend)
	}
	return nil
}

// newTranscript starts a transcript of this session at path.
func (s *session) newTranscript(path string) (*steps.Transcript, error) {
	return steps.CreateTranscript(path, steps.TranscriptHeader{Lab: s.lab.Dir, Backend: s.backend.Name(), Archiver: s.archiver.Name(), Notes: s.why, Started: time.Now()})
}

// close stops the servers when stop is true and releases the backend, with
// its own deadline so a cancelled session still cleans up.
func (s *session) close(stop bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s.poller.Close()
	return s.backend.Close(ctx, stop)
}

func cmdClean(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlagSet("clean", &o, stderr)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	lab, err := cluster.OpenLab(o.lab)
	if err != nil {
		return err
	}
	// Local servers: stop any postmaster whose data dir is in this lab.
	for _, d := range []string{cluster.PrimaryData, cluster.ReplicaData} {
		if pid := cluster.PostmasterPID(lab.Path(d)); pid > 0 {
			fmt.Fprintf(stdout, "stopping postgres pid %d (%s)\n", pid, d)
			if err := cluster.StopPID(ctx, pid, 60*time.Second); err != nil {
				return fmt.Errorf("stop postgres %d: %w", pid, err)
			}
		}
	}
	// Without --prefix, clean every prefix this lab's containers carry.
	prefix := ""
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "prefix" {
			prefix = o.prefix
		}
	})
	if err := cluster.Clean(ctx, lab, prefix); err != nil {
		if !errors.Is(err, cluster.ErrDockerUnavailable) {
			return err
		}
		fmt.Fprintln(stdout, "docker engine not reachable: no containers to remove")
	}
	var remover func(string) error
	if d, err := cluster.NewDocker(cluster.DockerOptions{Lab: lab, Image: o.image, InitImage: o.initImage, Prefix: o.prefix}); err == nil {
		remover = func(p string) error { return d.RemoveAll(ctx, p) }
		defer d.Close(ctx, false)
	}
	if err := lab.Reset(remover); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cleaned %s (kept its editable files)\n", lab.Dir)
	return nil
}
