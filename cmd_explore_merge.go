package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"walstep/explore"
	"walstep/outfile"
)

// cmdExploreMerge folds the results of explore --shard runs into one
// matrix: text (or JSON) on stdout, matrix.json and matrix.md in --out.
func cmdExploreMerge(args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("walstep explore merge", flag.ContinueOnError)
	fset.SetOutput(stderr)
	out := fset.String("out", "walstep-merged", "directory for the merged matrix.json and matrix.md (links relative to it)")
	jsonOut := fset.Bool("json", false, "print the merged matrix as one JSON document")
	force := fset.Bool("force", false, "replace the matrix.json and matrix.md of an earlier merge in --out")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: walstep explore merge [--out DIR] [--json] [--force] DIR…\n\nEach DIR is a shard's results directory (holding matrix.json) or a directory\nbelow which shards' matrix.json files are found (a lab, a volume of labs).")
		fset.PrintDefaults()
	}
	if err := parseFlags(fset, args, stderr); err != nil {
		return err
	}
	if fset.NArg() == 0 {
		return usageErrorf(2, "explore merge: give the shards' result directories")
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		return fmt.Errorf("explore merge: %w", err)
	}
	for _, f := range []string{"matrix.json", "matrix.md"} { // before reading anything
		if _, err := os.Stat(dir); err == nil {
			if err := outfile.Check(filepath.Join(dir, f), *force); err != nil {
				return fmt.Errorf("explore merge --out: %w", err)
			}
		}
	}
	var results []explore.ShardResult
	for _, d := range fset.Args() {
		found, err := findMatrices(d, dir)
		if err != nil {
			return err
		}
		if len(found) == 0 {
			return fmt.Errorf("explore merge: no matrix.json in or below %s", d)
		}
		for _, f := range found {
			m, err := readMatrix(f)
			if err != nil {
				return err
			}
			abs, err := filepath.Abs(filepath.Dir(f))
			if err != nil {
				return fmt.Errorf("explore merge: %w", err)
			}
			results = append(results, explore.ShardResult{Dir: abs, M: m})
		}
	}
	mg, err := explore.Merge(results, dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create merge dir: %w", err)
	}
	b, err := json.MarshalIndent(mg, "", "  ")
	if err != nil {
		return fmt.Errorf("encode matrix: %w", err)
	}
	if err := outfile.WriteFile(filepath.Join(dir, "matrix.json"), append(b, '\n'), *force); err != nil {
		return err
	}
	var md strings.Builder
	explore.WriteMarkdown(&md, mg.Matrix, dir)
	explore.WriteMergeNotes(&md, mg, true)
	if err := outfile.WriteFile(filepath.Join(dir, "matrix.md"), []byte(md.String()), *force); err != nil {
		return err
	}
	if *jsonOut {
		fmt.Fprintln(stdout, string(b))
	} else {
		explore.WriteText(stdout, mg.Matrix)
		explore.WriteMergeNotes(stdout, mg, false)
	}
	if len(mg.Missing) > 0 {
		fmt.Fprintf(stderr, "walstep: the merged matrix misses %d of %d cells (listed in %s)\n",
			len(mg.Missing), len(mg.Variants)*len(mg.Columns), filepath.Join(dir, "matrix.md"))
		return exitError{1}
	}
	return nil
}

// findMatrices finds the shard results in or below dir: dir/matrix.json
// itself, else every matrix.json below it but not in skip (an earlier
// merge's output there), looking no deeper than a result (a shard's
// results never nest).
func findMatrices(dir, skip string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(dir, "matrix.json")); err == nil {
		return []string{filepath.Join(dir, "matrix.json")}, nil
	}
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir {
			if abs, _ := filepath.Abs(p); abs == skip {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "matrix.json")); err == nil {
				found = append(found, filepath.Join(p, "matrix.json"))
				return filepath.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find shard results: %w", err)
	}
	sort.Strings(found)
	return found, nil
}

func readMatrix(path string) (*explore.Matrix, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read shard result: %w", err)
	}
	var m explore.Matrix
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read shard result %s: %w", path, err)
	}
	return &m, nil
}
