package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"walstep/cluster"
)

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
	var lock *cluster.LabLock
	if o.force {
		lock, err = lab.ForceLock("clean --force", 15*time.Second, stdout)
	} else {
		lock, err = lab.Lock("clean")
	}
	if err != nil {
		return err
	}
	defer lock.Release()
	// The lab's containers are found by its label, whatever --prefix says.
	if err := cluster.CleanLab(ctx, lab, cluster.CleanOptions{Prefix: o.prefix, Image: o.image, InitImage: o.initImage, Out: stdout}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cleaned %s (kept its editable files)\n", lab.Dir)
	return nil
}
