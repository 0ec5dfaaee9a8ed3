package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"walstep/cluster"
	"walstep/export"
	"walstep/outfile"
	"walstep/pg"
	"walstep/playbook"
)

// cmdExport writes the playbook as a TAP test (--tap) and/or a standalone
// script (--script), asserting --expect or the verdict of a run's --json
// report (--report).
func cmdExport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("walstep export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: walstep export --tap FILE.pl | --script FILE.sh [--docker] (--expect VERDICT | --report RUN.json) [flags]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var tap, script, lab, pb, expect, report, image string
	var docker, force bool
	fs.StringVar(&tap, "tap", "", "write a PostgreSQL TAP test (PostgreSQL::Test::Cluster) to this new file")
	fs.StringVar(&script, "script", "", "write a standalone bash script to this new file")
	fs.BoolVar(&docker, "docker", false, "the script drives the docker CLI (as the seed does) instead of local PostgreSQL binaries")
	fs.StringVar(&image, "image", defaultImage, "with --docker: the server image")
	fs.StringVar(&lab, "lab", "./walstep-lab", "the lab whose conf files the playbook copies (its playbook.md, unless --playbook)")
	fs.StringVar(&pb, "playbook", "", "the playbook to export: a built-in name or a file (default: the lab's)")
	fs.StringVar(&expect, "expect", "", "the outcome to assert: diverged or healthy")
	fs.StringVar(&report, "report", "", "assert the verdict of this report (the output of walstep run --json)")
	fs.BoolVar(&force, "force", false, "replace existing output files")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf(2, "export: unexpected argument %q (see: walstep export -h)", fs.Arg(0))
	}
	if tap == "" && script == "" {
		return usageErrorf(2, "export: name a file: --tap FILE.pl and/or --script FILE.sh")
	}
	verdict, err := exportVerdict(expect, report)
	if err != nil {
		return err
	}
	l, err := cluster.OpenLab(lab)
	if err != nil {
		return err
	}
	var doc *playbook.Doc
	if pb != "" {
		doc, _, err = loadPlaybook(pb)
	} else {
		doc, _, err = labPlaybook(l)
	}
	if err != nil {
		return err
	}
	o := export.Options{Doc: doc, Lab: l, Expect: verdict, Docker: docker, Image: image}
	for _, p := range []string{tap, script} {
		if p != "" {
			if err := outfile.Check(p, force); err != nil {
				return err
			}
		}
	}
	if tap != "" {
		b, err := export.TAP(o)
		if err != nil {
			return err
		}
		if err := outfile.WriteFile(tap, b, force); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: playbook %s as a TAP test asserting %s (run it with prove; see docs/export.md)\n", tap, doc.Name, verdict)
	}
	if script != "" {
		b, err := export.Script(o)
		if err != nil {
			return err
		}
		if err := outfile.WriteFile(script, b, force); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: playbook %s as a bash script; it prints diverged or healthy at the end (walstep saw %s)\n", script, doc.Name, verdict)
	}
	return nil
}

// exportVerdict is the outcome an export asserts: --expect, or the verdict
// of a --report; exactly one of them.
func exportVerdict(expect, report string) (pg.Verdict, error) {
	switch {
	case expect != "" && report != "":
		return "", usageErrorf(2, "export: --expect or --report, not both")
	case expect == string(pg.VerdictDiverged) || expect == string(pg.VerdictHealthy):
		return pg.Verdict(expect), nil
	case expect != "":
		return "", usageErrorf(2, "export: --expect %q: an export asserts diverged or healthy", expect)
	case report != "":
		raw, err := os.ReadFile(report)
		if err != nil {
			return "", fmt.Errorf("read report: %w", err)
		}
		var r struct {
			Diagnosis *pg.Diagnosis `json:"diagnosis"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return "", fmt.Errorf("read report %s: %w", report, err)
		}
		if r.Diagnosis == nil {
			return "", fmt.Errorf("report %s holds no diagnosis", report)
		}
		return r.Diagnosis.Verdict, nil
	}
	return "", usageErrorf(2, "export: say which outcome to assert: --expect diverged|healthy, or --report RUN.json (walstep run --json)")
}
