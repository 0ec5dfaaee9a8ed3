package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	// Settles the terminal background before Bubble Tea's init would
	// query the tty for it.
	_ "early.walstep/termdefaults"

	"walstep/cluster"
)

// exitError carries an exit status without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError is an error printed as one line with its own exit status.
type usageError struct {
	code int
	msg  string
}

func (e usageError) Error() string { return e.msg }

// usageErrorf is a usageError with exit status code and a formatted line.
func usageErrorf(code int, format string, a ...any) error {
	return usageError{code: code, msg: fmt.Sprintf(format, a...)}
}

const usage = `walstep — step through the PostgreSQL concurrent-restore timeline bug

Usage:
  walstep [flags]                 open the step-through debugger on --lab
  walstep init DIR                write a lab with editable defaults that reproduce the bug
                                  (--playbook NAME|FILE: the lab's playbook.md; list: the built-in ones)
  walstep run [flags]             run the whole playbook headless and print a report
  walstep explore [flags]         run variants × PostgreSQL versions × archivers, print a verdict matrix
  walstep explore merge DIR…      fold the results of explore --shard K/N runs into one matrix
  walstep clean [flags]           stop walstep's servers and containers of a lab, remove its generated dirs
  walstep playbooks               list the built-in playbooks (docs/playbooks.md: how to write one)
  walstep export [flags]          write the playbook as a PostgreSQL TAP test (--tap) or a bash script (--script)

Run 'walstep run -h' for the flags.
`

// selfCmd is how the user runs walstep, for hints meant to be pasted:
// "go run ." when this is go run's temporary build, else "walstep".
func selfCmd() string {
	// go run's binary is in a go-build dir: $WORK/go-buildN/b001/exe/ or,
	// cached, $GOCACHE (…/go-build/xx/…-d/); a test binary (NAME.test)
	// is in go-build too, and stands for walstep.
	exe := os.Args[0]
	if strings.Contains(exe, string(os.PathSeparator)+"go-build") && !strings.HasSuffix(exe, ".test") {
		return "go run ."
	}
	return "walstep"
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain runs walstep and returns its exit status; it never panics out:
// a panic becomes one line on stderr.
func realMain(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "walstep: internal error: %v (please report it)\n", p)
			code = 70
		}
	}()
	// SIGHUP (the terminal closed, its tmux session killed) ends a session
	// as SIGTERM does: servers stopped, what the steps started ended.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	cmd := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "":
		err = cmdDebug(ctx, args, stdout, stderr)
	case "init":
		err = cmdInit(args, stdout, stderr)
	case "run":
		err = cmdRun(ctx, args, stdout, stderr)
	case "explore":
		err = cmdExplore(ctx, args, stdout, stderr)
	case "clean":
		err = cmdClean(ctx, args, stdout, stderr)
	case "playbooks":
		err = cmdPlaybooks(args, stdout, stderr)
	case "export":
		err = cmdExport(args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "walstep: unknown command %q\n%s", cmd, usage)
		return 2
	}
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "walstep: %v\n", err)
		return ue.code
	default:
		fmt.Fprintf(stderr, "walstep: %v\n", err)
		return 1
	}
}

// options are the flags shared by the sub-commands.
// defaultImage is the seed's server image, --image's default (initdb's,
// --init-image's, is cluster.DefaultInitImage).
const defaultImage = "postgres_repro:latest"

type options struct {
	stopNotes  io.Writer // where a stop at close says it escalated; not a flag
	lab        string
	backend    string
	archiver   string
	walg       string
	pgBin      string
	image      string
	initImage  string
	prefix     string
	poll       time.Duration
	jsonOut    bool
	verbose    bool
	keep       bool
	repeat     int
	from       string
	resume     bool
	expect     string
	transcript string
	record     string
	markdown   string
	present    bool
	stops      string
	pause      time.Duration
	breaks     string
	stepTO     time.Duration
	waitSet    bool   // --wait was given: it replaces the playbook's deadlines
	playbook   string // --playbook NAME|FILE
	hookTO     time.Duration
	force      bool
	stall      time.Duration
}

func newFlagSet(name string, o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("walstep "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		out := fs.Output()
		if name == "" { // walstep -h: the sub-commands first
			fmt.Fprint(out, usage)
			fmt.Fprintln(out, "\nFlags of the debugger (walstep [flags]):")
		} else {
			fmt.Fprintf(out, "Usage: walstep %s [flags]\n\nFlags:\n", name)
		}
		fs.PrintDefaults()
	}
	fs.StringVar(&o.lab, "lab", "./walstep-lab", "lab directory (made with the defaults if missing)")
	fs.StringVar(&o.backend, "backend", "auto", "where the servers run: auto, local or docker")
	fs.StringVar(&o.archiver, "archiver", "auto", "archive and backup tool: auto, cp or wal-g")
	fs.StringVar(&o.walg, "wal-g", "", "path of a wal-g binary (default: wal-g on PATH)")
	fs.StringVar(&o.pgBin, "pg-bin", "", "PostgreSQL binaries directory for the local backend (default: pg_ctl's on PATH, else newest /usr/lib/postgresql/*/bin)")
	fs.StringVar(&o.image, "image", defaultImage, "Docker image with PostgreSQL (and wal-g) for the servers")
	fs.StringVar(&o.initImage, "init-image", cluster.DefaultInitImage, "Docker image for initdb (seed step 1)")
	fs.StringVar(&o.prefix, "prefix", "walstep", "Docker container and network name prefix, so labs can run side by side")
	fs.DurationVar(&o.poll, "poll", 500*time.Millisecond, "side panel poll interval")
	fs.Var(&waitFlag{d: &o.stepTO, set: &o.waitSet}, "wait", "how long each wait of a step (start, promotion, shutdown) may take, a `duration` replacing the deadlines the playbook writes (the seed's: 60s)")
	fs.DurationVar(&o.hookTO, "hook-timeout", 10*time.Minute, "how long a hook may run before walstep stops it")
	fs.StringVar(&o.transcript, "transcript", "", "write a Markdown transcript of the session to this new file (outside the lab's generated dirs)")
	fs.BoolVar(&o.force, "force", false, "replace an existing --transcript, --record or --markdown file; with clean: end the session that holds the lab first")
	return fs
}

// parseFlags parses args with fs. -h prints the flags; a bad flag is one
// line that says where to look, not the whole usage after the error.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return err
	case err != nil:
		return usageErrorf(2, "%v (see: %s -h)", err, strings.TrimSpace(fs.Name()))
	}
	var bad error
	fs.Visit(func(f *flag.Flag) {
		if bad == nil {
			bad = checkFlag(f)
		}
	})
	if bad != nil {
		return usageErrorf(2, "%v (see: %s -h)", bad, strings.TrimSpace(fs.Name()))
	}
	return nil
}

// minPoll keeps the side panel from spinning a core.
const minPoll = 50 * time.Millisecond

// checkFlag refuses a value that parses but cannot be meant: one line per
// flag, at parse time, instead of a silent default later.
func checkFlag(f *flag.Flag) error {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return nil
	}
	switch v := g.Get().(type) {
	case time.Duration:
		switch {
		case f.Name == "present-pause" && v < 0:
			return fmt.Errorf("--%s %s: use 0 (wait for c) or a positive duration", f.Name, v)
		case f.Name == "present-pause":
		case v <= 0:
			ex := f.DefValue
			if d, err := time.ParseDuration(ex); err != nil || d <= 0 {
				ex = "60s" // --wait's default is the playbook's own deadlines
			}
			return fmt.Errorf("--%s %s: use a positive duration, e.g. --%s %s", f.Name, v, f.Name, ex)
		case f.Name == "poll" && v < minPoll:
			return fmt.Errorf("--poll %s is too short to be useful (it would keep a core busy): use %s or more", v, minPoll)
		}
	case string:
		if f.Name == "lab" && strings.TrimSpace(v) == "" {
			return fmt.Errorf("--lab is empty: name the lab directory, e.g. --lab ./walstep-lab")
		}
		if f.Name == "prefix" && !cluster.PrefixOK(v) {
			return fmt.Errorf("--prefix %q: use a name of letters, digits, '_', '.' and '-' that starts with a letter or digit, e.g. --prefix %s", v, f.DefValue)
		}
	case int:
		if (f.Name == "repeat" || f.Name == "jobs") && v < 1 {
			return fmt.Errorf("--%s %d: use 1 or more", f.Name, v)
		}
	}
	return nil
}
