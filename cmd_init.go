package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"walstep/cluster"
	"walstep/explore"
	"walstep/playbook"
)

func cmdInit(args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlagSet("init", &o, stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: walstep init [--playbook NAME|FILE|list] DIR")
	}
	fs.StringVar(&o.playbook, "playbook", playbook.DefaultName, "the playbook written into the lab as playbook.md: a built-in one by name, a Markdown file, or list to list the built-in ones")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if o.playbook == "list" {
		writePlaybookList(stdout)
		return nil
	}
	// Checked before the lab is made: a playbook that does not parse
	// leaves nothing behind.
	src, where, err := playbook.Source(o.playbook)
	if err != nil {
		return fmt.Errorf("--playbook %s: %w", o.playbook, err)
	}
	doc, err := playbook.Parse(where, src)
	if err != nil {
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
	wrote, err := writeLabPlaybook(lab, src)
	if err != nil {
		return err
	}
	if !wrote {
		if have, err := os.ReadFile(lab.Path(cluster.PlaybookFile)); err == nil && !bytes.Equal(have, src) && o.playbook != playbook.DefaultName {
			return fmt.Errorf("%s has a playbook.md already, which walstep does not overwrite: remove it first to write %s", lab.Dir, o.playbook)
		}
	}
	if err := explore.WriteCatalogue(lab); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "lab ready in %[1]s\nedit %[4]s, then: %[3]s --lab %[2]s  (or %[3]s run --lab %[2]s)\nvariants/ holds the built-in variants for: %[3]s explore --lab %[2]s\n", lab.Dir, cluster.ShellQuote(dir), selfCmd(), editableFiles(doc))
	return nil
}

// editableFiles names the lab files worth editing for this playbook: the
// document itself and the files its steps read, so a playbook that copies
// none of the seed's confs does not send the user to them.
func editableFiles(doc *playbook.Doc) string {
	names := []string{cluster.PlaybookFile}
	seen := map[string]bool{cluster.PlaybookFile: true}
	for _, st := range doc.Steps {
		for _, f := range st.Reads() {
			if !seen[f] {
				seen[f] = true
				names = append(names, f)
			}
		}
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
