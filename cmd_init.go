package main

import (
	"fmt"
	"io"

	"walstep/cluster"
	"walstep/explore"
)

func cmdInit(args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlagSet("init", &o, stderr)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), "Usage: walstep init DIR") }
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	dir := o.lab
	if fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	lab, err := cluster.OpenOrInitLab(dir)
	if err != nil {
		return err
	}
	if err := explore.WriteCatalogue(lab); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "lab ready in %s\nedit primary_restore.conf, replica_restore.conf, replica_standby.conf or wal-g.json, then: %[3]s --lab %[2]s  (or %[3]s run --lab %[2]s)\nvariants/ holds the built-in variants for: %[3]s explore --lab %[2]s\n", lab.Dir, cluster.ShellQuote(dir), selfCmd())
	return nil
}
