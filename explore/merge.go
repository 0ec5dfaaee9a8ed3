package explore

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ShardResult is one shard's matrix and the directory its matrix.json was
// read from (its transcripts are relative to it).
type ShardResult struct {
	Dir string
	M   *Matrix
}

// ShardInfo is one shard of a merged matrix.
type ShardInfo struct {
	Shard       Shard  `json:"shard"`
	Dir         string `json:"dir"`
	Lab         string `json:"lab"`
	Started     string `json:"started"`
	WallMS      int64  `json:"wall_ms"`
	Cells       int    `json:"cells"`
	CellsDone   int    `json:"cells_done"`
	Interrupted bool   `json:"interrupted,omitempty"`
}

// Missing is a cell the merged matrix has no complete result for, and why.
type Missing struct {
	Cell CellKey `json:"-"`
	Name string  `json:"cell"`
	Why  string  `json:"why"`
}

// Merged is shards folded into one matrix.
type Merged struct {
	*Matrix
	Shards  []ShardInfo `json:"shards"`
	Missing []Missing   `json:"missing"`
	Notes   []string    `json:"notes,omitempty"` // shards left out, and why
}

// Merge folds shard results into one matrix written at dir: transcripts
// are linked relative to dir. Shards of different matrices are refused
// with one line naming the difference; a shard index found twice (a
// retried job) keeps the result with the most finished cells, then the
// later.
func Merge(results []ShardResult, dir string) (*Merged, error) {
	if len(results) == 0 {
		return nil, fmt.Errorf("merge: no shard results given")
	}
	base := results[0]
	for _, r := range results[1:] {
		if d := base.M.Identity.Differs(r.M.Identity); d != "" {
			return nil, fmt.Errorf("refusing to merge %s and %s: they are shards of different matrices: %s",
				filepath.Join(base.Dir, "matrix.json"), filepath.Join(r.Dir, "matrix.json"), d)
		}
	}
	for _, r := range results {
		for _, c := range r.M.Cells {
			c.planned = r.M.Repeat
		}
	}
	var notes []string
	byK := map[int]ShardResult{}
	for _, r := range results {
		k := r.M.Identity.Shard.K
		prev, ok := byK[k]
		if !ok {
			byK[k] = r
			continue
		}
		keep, drop := prev, r
		if r.M.CellsDone() > prev.M.CellsDone() || (r.M.CellsDone() == prev.M.CellsDone() && r.M.Started.After(prev.M.Started)) {
			keep, drop = r, prev
		}
		byK[k] = keep
		notes = append(notes, fmt.Sprintf("shard %s found twice: kept %s (%d cells done), left out %s (%d)",
			r.M.Identity.Shard, keep.Dir, keep.M.CellsDone(), drop.Dir, drop.M.CellsDone()))
	}
	var ks []int
	for k := range byK {
		ks = append(ks, k)
	}
	sort.Ints(ks)

	first := byK[ks[0]].M
	id := first.Identity
	id.Shard = Shard{}
	m := &Matrix{Dir: dir, Backend: first.Backend, Repeat: first.Repeat, Shared: first.Shared,
		Variants: first.Variants, Columns: first.Columns, Identity: id}
	out := &Merged{Matrix: m, Notes: notes}
	owner := map[CellKey]Shard{}
	var labs []string
	rel := func(shardDir, p string) string {
		if p == "" {
			return ""
		}
		abs := filepath.Join(shardDir, p)
		if r, err := filepath.Rel(dir, abs); err == nil {
			return r
		}
		return abs
	}
	for _, k := range ks {
		r := byK[k]
		sh := r.M.Identity.Shard
		out.Shards = append(out.Shards, ShardInfo{Shard: sh, Dir: r.Dir, Lab: r.M.Lab, Started: r.M.Started.UTC().Format(time.RFC3339),
			WallMS: r.M.WallMS, Cells: len(r.M.Cells), CellsDone: r.M.CellsDone(), Interrupted: r.M.Interrupted})
		labs = append(labs, r.M.Lab)
		if m.Started.IsZero() || r.M.Started.Before(m.Started) {
			m.Started = r.M.Started
		}
		m.WallMS = max(m.WallMS, r.M.WallMS)
		m.SumRunsMS += r.M.SumRunsMS
		m.Jobs = max(m.Jobs, r.M.Jobs)
		for _, p := range r.M.Prefixes {
			p.Transcript = rel(r.Dir, p.Transcript)
			m.Prefixes = append(m.Prefixes, p)
		}
		for _, c := range r.M.Cells {
			key := CellKey{c.Variant, c.PG, c.Archiver}
			if o, ok := owner[key]; ok {
				return nil, fmt.Errorf("refusing to merge: cell %s is in shard %s and in shard %s", key, o, sh)
			}
			owner[key] = sh
			for i := range c.Results {
				c.Results[i].Transcript = rel(r.Dir, c.Results[i].Transcript)
				c.Results[i].Report = rel(r.Dir, c.Results[i].Report)
			}
			m.Cells = append(m.Cells, c)
		}
	}
	m.Lab = strings.Join(labs, ", ")
	n := first.Identity.Shard.N
	var absent []string
	for k := 1; k <= n; k++ {
		if _, ok := byK[k]; !ok {
			absent = append(absent, fmt.Sprintf("%d/%d", k, n))
		}
	}
	for _, v := range m.Variants {
		for _, col := range m.Columns {
			key := CellKey{v.Name, col.PG, col.Archiver}
			c := m.Cell(v.Name, col)
			switch {
			case c == nil:
				why := "no shard given holds it"
				if len(absent) > 0 {
					why = "its shard is not among those given (missing: " + strings.Join(absent, ", ") + ")"
				}
				out.Missing = append(out.Missing, Missing{Cell: key, Name: key.String(), Why: why})
			case !c.Done():
				out.Missing = append(out.Missing, Missing{Cell: key, Name: key.String(),
					Why: fmt.Sprintf("shard %s finished %d of its %d runs (interrupted)", owner[key], c.Runs, c.planned)})
			}
		}
	}
	m.Interrupted = len(out.Missing) > 0
	return out, nil
}

// WriteMergeNotes says where a merged matrix's cells came from and which
// are missing, as Markdown (md) or text.
func WriteMergeNotes(w io.Writer, mg *Merged, md bool) {
	bullet := "  "
	if md {
		bullet = "- "
		fmt.Fprintf(w, "\nMerged from %d shard(s):\n\n", len(mg.Shards))
	} else {
		fmt.Fprintf(w, "\nmerged from %d shard(s):\n", len(mg.Shards))
	}
	for _, s := range mg.Shards {
		state := ""
		if s.Interrupted {
			state = ", interrupted"
		}
		fmt.Fprintf(w, "%sshard %s: %d/%d cells done in %s%s (%s)\n", bullet, s.Shard, s.CellsDone, s.Cells,
			roundDur(time.Duration(s.WallMS)*time.Millisecond), state, s.Dir)
	}
	for _, n := range mg.Notes {
		fmt.Fprintf(w, "%s%s\n", bullet, n)
	}
	if len(mg.Missing) == 0 {
		if md {
			fmt.Fprintf(w, "\nEvery cell of the matrix has all its runs.\n")
		} else {
			fmt.Fprintf(w, "every cell of the matrix has all its runs\n")
		}
		return
	}
	if md {
		fmt.Fprintf(w, "\nMissing %d cell(s):\n\n", len(mg.Missing))
	} else {
		fmt.Fprintf(w, "missing %d cell(s):\n", len(mg.Missing))
	}
	for _, x := range mg.Missing {
		fmt.Fprintf(w, "%s%s: %s\n", bullet, x.Name, x.Why)
	}
}
