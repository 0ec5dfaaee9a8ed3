package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"walstep/cluster"
	"walstep/explore"
	"walstep/playbook"
)

// loadPlaybook reads --playbook NAME|FILE: a built-in playbook by name, or
// a document; the file is "" for a built-in one.
func loadPlaybook(nameOrFile string) (*playbook.Doc, string, error) {
	src, where, err := playbook.Source(nameOrFile)
	if err != nil {
		return nil, "", fmt.Errorf("--playbook %s: %w", nameOrFile, err)
	}
	d, err := playbook.Parse(where, src)
	if err != nil {
		return nil, "", err
	}
	if _, berr := playbook.BuiltinSource(nameOrFile); berr == nil && where != nameOrFile {
		return d, "", nil
	}
	abs, err := filepath.Abs(nameOrFile)
	if err != nil {
		return nil, "", fmt.Errorf("resolve playbook path: %w", err)
	}
	return d, abs, nil
}

// labPlaybook is the lab's playbook.md, or the seed's built-in playbook
// for a lab that has none.
func labPlaybook(lab *cluster.Lab) (*playbook.Doc, string, error) {
	p := lab.Path(cluster.PlaybookFile)
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return playbook.Seed(), "", nil
	}
	d, err := playbook.ReadFile(p)
	if err != nil {
		return nil, "", err
	}
	return d, p, nil
}

// writeLabPlaybook writes src as the lab's playbook.md unless it has one:
// like the confs, walstep never overwrites it once written.
func writeLabPlaybook(lab *cluster.Lab, src []byte) (bool, error) {
	p := lab.Path(cluster.PlaybookFile)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("write playbook.md: %w", err)
	}
	if _, err := f.Write(src); err != nil {
		f.Close()
		return false, fmt.Errorf("write playbook.md: %w", err)
	}
	return true, f.Close()
}

// cmdPlaybooks lists the built-in playbooks.
func cmdPlaybooks(args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlagSet("playbooks", &o, stderr)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), "Usage: walstep playbooks") }
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	writePlaybookList(stdout)
	return nil
}

func writePlaybookList(w io.Writer) {
	fmt.Fprintln(w, "built-in playbooks (walstep init --playbook NAME, or --playbook NAME for a session):")
	bs := playbook.Builtins()
	width := 0
	for _, b := range bs {
		width = max(width, len(b.Name))
	}
	for _, b := range bs {
		fmt.Fprintf(w, "  %-*s %2d steps  %s\n", width, b.Name, b.Steps, b.Title)
		if vs := explore.FieldVariants(b.Name); len(vs) > 0 {
			fmt.Fprintf(w, "  %-*s           explore's variants (walstep init --playbook %s): %s\n", width, "", b.Name, strings.Join(vs, ", "))
		}
	}
	fmt.Fprintln(w, "a playbook is a Markdown document: docs/playbooks.md says how to write one")
}

// mustSeedSource is the seed's playbook document, built in.
func mustSeedSource() []byte {
	b, err := playbook.BuiltinSource(playbook.DefaultName)
	if err != nil {
		panic(err) // built into the binary: its tests read it
	}
	return b
}

// playbookFlag is --playbook's help, the same for every sub-command.
const playbookFlag = "the playbook to run: a built-in one by name (walstep playbooks lists them) or a Markdown file (default: the lab's playbook.md, else the seed's)"
