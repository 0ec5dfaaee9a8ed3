package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/term"

	"walstep/cluster"
	"walstep/explore"
	"walstep/headless"
	"walstep/outfile"
	"walstep/playbook"
)

// exploreOptions are explore's flags.
type exploreOptions struct {
	lab, variants, pg, archiver, backend, walg, pgBin, prefix, markdown string
	shard, images                                                       string
	repeat, jobs                                                        int
	jsonOut, noShare, force, waitSet                                    bool
	stepTO                                                              time.Duration
	playbook, from                                                      string
}

func cmdExplore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "merge" {
		return cmdExploreMerge(args[1:], stdout, stderr)
	}
	var o exploreOptions
	fs := flag.NewFlagSet("walstep explore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.lab, "lab", "./walstep-lab", "the lab whose files (and variants/) the runs start from")
	fs.StringVar(&o.variants, "variants", "", "variants to run, comma-separated (default: every directory in the lab's variants/)")
	fs.StringVar(&o.pg, "pg", "", "PostgreSQL major versions, comma-separated: 13, 15, 17, 18 (default: the backend's own: local binaries, or 15 in Docker)")
	fs.StringVar(&o.archiver, "archiver", "cp", "archivers, comma-separated: cp, wal-g")
	fs.StringVar(&o.backend, "backend", "auto", "where the servers run: auto (docker when every column's image exists, else local), local or docker")
	fs.IntVar(&o.repeat, "repeat", 1, "runs per cell")
	fs.IntVar(&o.jobs, "jobs", runtime.NumCPU(), "runs at a time")
	fs.BoolVar(&o.jsonOut, "json", false, "print the matrix as one JSON document (progress goes to stderr)")
	fs.StringVar(&o.markdown, "markdown", "", "also write the matrix as Markdown to this file, its cells linking to the runs' transcripts")
	fs.BoolVar(&o.force, "force", false, "replace an existing --markdown file")
	fs.StringVar(&o.walg, "wal-g", "", "wal-g binary for the local backend (default: wal-g on PATH); Docker uses the image's")
	fs.StringVar(&o.pgBin, "pg-bin", "", "PostgreSQL binaries for the local backend (default: every /usr/lib/postgresql/N/bin)")
	fs.StringVar(&o.images, "image", "", "Docker image per major version, MAJOR=TAG comma-separated (e.g. 18=postgres_repro:18), for any major; default walstep-test-pg:N (N-walg for wal-g)")
	fs.StringVar(&o.prefix, "prefix", "walstep-x", "Docker container and network name prefix of the runs")
	fs.Var(&waitFlag{d: &o.stepTO, set: &o.waitSet}, "wait", "how long each wait of a step (start, promotion, shutdown) may take, a `duration` replacing the deadlines the playbook writes (the seed's: 60s)")
	fs.BoolVar(&o.noShare, "no-share", false, "run every playbook from step 0 instead of from a shared copy of its first steps (those before the first that reads a conf: 0-7 in the seed's)")
	fs.StringVar(&o.from, "from", "", "start every run at step `ID` from a checkpoint of the steps before it, kept once per column (and per variant where the steps before it read a file the variant changes): the nearest step at or before ID with no server running before it")
	fs.StringVar(&o.shard, "shard", "", "run only the K-th of N slices of the matrix, K/N (cells sharing a prefix stay together); merge the shards' results with walstep explore merge")
	fs.StringVar(&o.playbook, "playbook", "", playbookFlag+"; a variant's own playbook.md counts for its runs unless this is given")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf(2, "unexpected argument %q (the lab is given with --lab)", fs.Arg(0))
	}
	if o.markdown != "" { // before the runs: a path in the way costs nothing yet
		if err := outfile.Check(o.markdown, o.force); err != nil {
			return fmt.Errorf("--markdown: %w", err)
		}
	}
	var shard explore.Shard
	if o.shard != "" {
		var err error
		if shard, err = explore.ParseShard(o.shard); err != nil {
			return usageErrorf(2, "%v", err)
		}
	}
	var doc *playbook.Doc
	if o.playbook != "" { // before anything is made
		d, file, err := loadPlaybook(o.playbook)
		if err != nil {
			return err
		}
		doc = d
		if file != "" {
			o.playbook = file
		}
	}
	lab, err := cluster.OpenOrInitLab(o.lab)
	if err != nil {
		return err
	}
	if doc == nil {
		if doc, _, err = labPlaybook(lab); err != nil {
			return err
		}
	}
	progress := stdout
	if o.jsonOut {
		progress = stderr
	}
	if _, err := os.Stat(lab.Path(explore.VariantsDir)); os.IsNotExist(err) {
		if err := explore.WriteCatalogue(lab); err != nil {
			return err
		}
		fmt.Fprintf(progress, "walstep: wrote the built-in variants into %s\n", lab.Path(explore.VariantsDir))
	}
	all, err := explore.LoadVariants(lab)
	if err != nil {
		return err
	}
	variants, err := explore.SelectVariants(all, explore.SplitList(o.variants))
	if err != nil {
		return err
	}
	images, err := explore.ParseImages(o.images)
	if err != nil {
		return usageErrorf(2, "%v", err)
	}
	res, err := explore.Resolve(ctx, explore.Request{Backend: o.backend, PG: o.pg, Archivers: o.archiver, PGBin: o.pgBin, WalG: o.walg, Images: images})
	if err != nil {
		return err
	}
	dir, err := resultsDir(lab)
	if err != nil {
		return err
	}
	share := !o.noShare && res.CanShare()
	if o.from != "" {
		if err := checkExploreFrom(o, doc, share); err != nil {
			return err
		}
	}
	id, err := explore.NewIdentity(lab, variants, res, o.repeat, share, headless.WalstepVersion().Value, shard)
	if err != nil {
		return err
	}
	id.From = o.from
	if o.playbook != "" {
		// The runs follow --playbook, not the lab's: shards of other
		// playbooks are other matrices.
		src, _, err := playbook.Source(o.playbook)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(src)
		id.Playbook = "--playbook " + hex.EncodeToString(sum[:6])
	}
	ex := explore.New(explore.Plan{
		Lab: lab, Variants: variants, Resolved: res, Repeat: o.repeat, Jobs: o.jobs, Share: share, From: o.from, Playbook: doc,
		Dir: dir, Name: o.prefix + "-" + filepath.Base(dir), Exec: exploreExec(o), Shard: shard, Identity: id,
	})
	fmt.Fprintf(progress, "walstep: %s\nwalstep: %d variants × %d columns × %d run(s), %d job(s); results in %s\n",
		res.Why, len(variants), len(res.Columns), o.repeat, o.jobs, dir)
	if note := explore.RunBackendNote(ctx, o.backend, res.Backend, defaultImage, cluster.DefaultInitImage); note != "" {
		fmt.Fprintf(progress, "walstep: %s\n", note)
	}
	if !shard.Whole() {
		p := ex.Progress()
		fmt.Fprintf(progress, "walstep: shard %s: %d of the matrix's %d cells\n", shard, p.Cells, len(variants)*len(res.Columns))
	}
	// matrix.json is rewritten after every run: a shard killed midway
	// (a pod evicted, a CI job cancelled) keeps the cells it finished.
	ex.SetSaved(func(m *explore.Matrix) {
		if err := writeMatrixJSON(m, dir); err != nil {
			fmt.Fprintf(stderr, "walstep: %v\n", err)
		}
	})
	m := runWithProgress(ctx, ex, progress)

	werr := writeResults(m, dir, o.markdown, o.force)
	if werr != nil {
		fmt.Fprintf(stderr, "walstep: %v\n", werr)
	}
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(m); err != nil {
			return fmt.Errorf("write matrix: %w", err)
		}
	} else {
		explore.WriteText(stdout, m)
	}
	if ctx.Err() != nil {
		return exitError{130}
	}
	if werr != nil {
		return exitError{1}
	}
	return nil
}

// runWithProgress runs the exploration with a progress line: redrawn in
// place on a terminal, one line per finished run elsewhere.
func runWithProgress(ctx context.Context, ex *explore.Explorer, w io.Writer) *explore.Matrix {
	f, isFile := w.(*os.File)
	tty := isFile && term.IsTerminal(f.Fd())
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	if tty {
		wg.Add(1)
		go func() { // joined below, after done closes
			defer wg.Done()
			t := time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					mu.Lock()
					fmt.Fprint(w, "\r\x1b[K")
					mu.Unlock()
					return
				case <-t.C:
					mu.Lock()
					fmt.Fprint(w, "\r\x1b[K"+fitWidth(ex.Progress().Line(), f))
					mu.Unlock()
				}
			}
		}()
	}
	ex.SetRunDone(func(c *explore.Cell, r explore.RunResult, p explore.Progress) {
		line := fmt.Sprintf("run %d/%d: %s pg%d %s #%d: %s in %.1fs", p.RunsDone, p.Runs, c.Variant, c.PG, c.Archiver, r.Run, r.Verdict, float64(r.MS)/1000)
		if !p.Shard.Whole() {
			line = "shard " + p.Shard.String() + " " + line
		}
		line += headless.FailedNote(r.FailedStep, r.Error)
		line += fmt.Sprintf(" · cells %d/%d", p.CellsDone, p.Cells)
		if p.Left > 0 {
			line += " · ~" + explore.RoundDur(p.Left) + " left"
		}
		mu.Lock()
		defer mu.Unlock()
		if tty {
			fmt.Fprint(w, "\r\x1b[K")
		}
		fmt.Fprintln(w, line)
	})
	m := ex.Run(ctx)
	close(done)
	wg.Wait()
	return m
}

// fitWidth cuts a progress line to the terminal's width, so redrawing it
// in place never wraps.
func fitWidth(s string, f *os.File) string {
	wdt, _, err := term.GetSize(f.Fd())
	if err != nil || wdt < 10 {
		return s
	}
	r := []rune(s)
	if len(r) >= wdt {
		return string(r[:wdt-2]) + "…"
	}
	return s
}

// resultsDir makes the lab's explore/<timestamp> directory.
func resultsDir(lab *cluster.Lab) (string, error) {
	base := lab.Path("explore")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("create results dir: %w", err)
	}
	stamp := time.Now().UTC().Format("20060102-150405")
	for i := 1; ; i++ {
		name := stamp
		if i > 1 {
			name = fmt.Sprintf("%s-%d", stamp, i)
		}
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o755); err == nil {
			return dir, nil
		} else if !os.IsExist(err) {
			return "", fmt.Errorf("create results dir: %w", err)
		}
	}
}

// writeResults writes matrix.json and matrix.md into the results dir, and
// the Markdown to the user's file too.
func writeResults(m *explore.Matrix, dir, markdown string, replace bool) error {
	if err := writeMatrixJSON(m, dir); err != nil {
		return err
	}
	var md strings.Builder
	explore.WriteMarkdown(&md, m, dir)
	if err := outfile.WriteFile(filepath.Join(dir, "matrix.md"), []byte(md.String()), false); err != nil {
		return fmt.Errorf("write matrix: %w", err)
	}
	if markdown != "" {
		abs, err := filepath.Abs(markdown)
		if err != nil {
			return fmt.Errorf("write %s: %w", markdown, err)
		}
		var md strings.Builder
		explore.WriteMarkdown(&md, m, filepath.Dir(abs))
		if err := outfile.WriteFile(abs, []byte(md.String()), replace); err != nil {
			return err
		}
	}
	return nil
}

// writeMatrixJSON writes dir/matrix.json, replacing the one of the last
// run: whole or not at all, so a merge after a kill never reads half a
// file.
func writeMatrixJSON(m *explore.Matrix, dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode matrix: %w", err)
	}
	if err := outfile.WriteFile(filepath.Join(dir, "matrix.json"), append(b, '\n'), true); err != nil {
		return fmt.Errorf("write matrix: %w", err)
	}
	return nil
}
