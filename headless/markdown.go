package headless

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"walstep/cluster"
	"walstep/outfile"
	"walstep/present"
)

// CheckReportPath refuses --markdown's path before a run starts: one the
// run would delete or one of the lab's own files, a path that exists
// unless replace (--force) and it is a regular file, a missing directory.
func CheckReportPath(s *Session, path string, replace bool) error {
	if err := s.Lab.CheckOutputPath(path); err != nil {
		return fmt.Errorf("--markdown: %w", err)
	}
	if err := outfile.Check(path, replace); err != nil {
		return fmt.Errorf("--markdown: %w", err)
	}
	return nil
}

// WriteMarkdown writes the report for an issue tracker to path: a
// new file, or with replace a regular file replaced whole by a rename
// (never written through a link), readable by its owner alone.
// keep is --keep-running: whether the servers the report reads as running
// stay so.
func WriteMarkdown(ctx context.Context, s *Session, rep Report, path string, replace, keep bool) error {
	then := "walstep stops them once this report is written"
	if keep {
		then = "walstep left them as they were (--keep-running)"
	}
	mr := present.Report{
		ServersThen: then,
		Generated:   time.Now(), Lab: rep.Lab, Backend: rep.Backend, Archiver: rep.Archiver,
		Notes: s.Why, Snapshot: rep.Snapshot, Diagnosis: rep.Diagnosis, WAL: rep.WALPastFork,
		Versions: versions(ctx, s),
	}
	if s.Doc != nil {
		mr.Playbook, mr.PlaybookTitle = s.Doc.Name, s.Doc.Title
	}
	for _, st := range rep.Steps {
		mr.Steps = append(mr.Steps, present.ReportStep{ID: st.ID, Title: st.Title, Status: st.Status.String(),
			Duration: time.Duration(st.Seconds * float64(time.Second)), Error: st.Error})
	}
	// The lab files the playbook's steps read (the confs they copy, the
	// archiver's config), as the playbook names them.
	var read []string
	for _, st := range s.Steps {
		for _, name := range st.Reads {
			if !slices.Contains(read, name) {
				read = append(read, name)
			}
		}
	}
	for _, name := range read {
		b, err := s.Lab.ReadFile(name)
		if err != nil {
			continue // a file the lab does not have, or one walstep refuses to read
		}
		mr.Confs = append(mr.Confs, present.Conf{Name: name, Text: string(b)})
	}
	// Hooks are steps of the run too: a report without them could not be
	// reproduced. Each is shown as its step read it when it last started,
	// which is what ran, in run order; a hook that did not run is not.
	for _, st := range s.Steps {
		if st.Ran == nil {
			continue
		}
		if file, text, ok := st.Ran(); ok {
			mr.Confs = append(mr.Confs, present.Conf{Name: file, Text: string(text)})
		}
	}
	var buf bytes.Buffer
	if err := present.WriteMarkdown(&buf, mr); err != nil {
		return err
	}
	if err := outfile.WriteFile(path, buf.Bytes(), replace); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// versions are the exact versions a bug report upstream asks for: the
// server's PostgreSQL, WAL-G when it archived, and walstep's own commit.
func versions(ctx context.Context, s *Session) []present.Version {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	var out []present.Version
	node := s.Lab.Topology().Primary()
	run := func(argv ...string) string {
		var b bytes.Buffer
		if err := s.Backend.Exec(ctx, node, "postgres", argv, &b); err != nil {
			return ""
		}
		for _, l := range strings.Split(b.String(), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "$ ") {
				return l // the first line the program printed
			}
		}
		return ""
	}
	where := "the " + string(node) + "'s environment (" + s.Backend.Name() + ")"
	if v := run("postgres", "--version"); v != "" {
		out = append(out, present.Version{Name: "PostgreSQL", Value: v, Source: "postgres --version in " + where})
	} else {
		out = append(out, present.Version{Name: "PostgreSQL", Value: "unknown", Source: "postgres --version failed in " + where})
	}
	if _, ok := s.Archiver.(cluster.WalG); ok {
		bin := s.Backend.Paths(node).WalgBin
		v := run(bin, "--version")
		if v == "" {
			v = "unknown"
		}
		out = append(out, present.Version{Name: "WAL-G", Value: v, Source: bin + " --version in " + where})
	}
	return append(out, WalstepVersion())
}

// WalstepVersion is the commit walstep was built from: the build's VCS
// stamp, else git in the working directory when it is walstep's checkout
// (go run, go test).
func WalstepVersion() present.Version {
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, modified, when string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			case "vcs.time":
				when = s.Value
			}
		}
		if rev != "" {
			v := rev
			if modified == "true" {
				v += " (with uncommitted changes)"
			}
			if when != "" {
				v += ", committed " + when
			}
			return present.Version{Name: "walstep", Value: v + ", " + bi.GoVersion, Source: "the binary's build info"}
		}
	}
	if mod, err := os.ReadFile("go.mod"); err == nil && strings.HasPrefix(string(mod), "module walstep\n") {
		if rev, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
			v := strings.TrimSpace(string(rev))
			if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
				v += " (with uncommitted changes)"
			}
			return present.Version{Name: "walstep", Value: v, Source: "git in the working directory"}
		}
	}
	return present.Version{Name: "walstep", Value: "unknown", Source: "built without VCS information"}
}
