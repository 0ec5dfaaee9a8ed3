package explore

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Shard is the K-th of N slices of a matrix (1 ≤ K ≤ N). The zero value
// is the whole matrix.
type Shard struct {
	K int `json:"k"`
	N int `json:"n"`
}

// Whole reports whether the shard is the whole matrix.
func (s Shard) Whole() bool { return s.N <= 1 }

func (s Shard) String() string {
	if s.Whole() {
		return "whole matrix"
	}
	return fmt.Sprintf("%d/%d", s.K, s.N)
}

// ParseShard reads "K/N". An index of 0 is refused: Kubernetes counts its
// completion index from 0, so the manifests pass $((JOB_COMPLETION_INDEX+1)).
func ParseShard(s string) (Shard, error) {
	k, n, ok := strings.Cut(strings.TrimSpace(s), "/")
	ki, err1 := strconv.Atoi(k)
	ni, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || ni < 1 || ki < 1 || ki > ni {
		return Shard{}, fmt.Errorf("--shard %q: give K/N with 1 ≤ K ≤ N, e.g. 2/3", s)
	}
	return Shard{K: ki, N: ni}, nil
}

// CellKey names one cell of a matrix.
type CellKey struct {
	Variant  string
	PG       int
	Archiver string
}

func (k CellKey) String() string { return fmt.Sprintf("%s pg%d %s", k.Variant, k.PG, k.Archiver) }

// Partition slices a matrix's cells into n shards, the same way wherever
// it runs with the same cells and groups. cells are in matrix order; group
// names the shared prefix a cell starts from ("" for none: every cell is a
// group of its own). Cells of one group stay in one shard, since each
// shard builds its groups' prefixes once; a group is split only when it
// holds more cells than a shard's fair share (ceil(cells/n)), at the price
// of one more prefix in the shard that gets the rest. Pieces go, largest
// first, to the shard with the fewest cells so far.
func Partition(cells []CellKey, group func(CellKey) string, n int) [][]CellKey {
	if n < 1 {
		n = 1
	}
	type piece struct {
		first int // the position of its first cell, for a stable order
		cells []CellKey
	}
	var order []string
	byGroup := map[string][]int{}
	for i, c := range cells {
		g := group(c)
		if g == "" {
			g = "\x00" + strconv.Itoa(i)
		}
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], i)
	}
	fair := (len(cells) + n - 1) / n
	var pieces []piece
	for _, g := range order {
		idx := byGroup[g]
		parts := (len(idx) + fair - 1) / fair
		lo := 0
		for p := 0; p < parts; p++ {
			hi := lo + len(idx)/parts
			if p < len(idx)%parts {
				hi++ // the first pieces take the remainder
			}
			pc := piece{first: idx[lo]}
			for _, i := range idx[lo:hi] {
				pc.cells = append(pc.cells, cells[i])
			}
			pieces = append(pieces, pc)
			lo = hi
		}
	}
	sort.SliceStable(pieces, func(i, j int) bool {
		if len(pieces[i].cells) != len(pieces[j].cells) {
			return len(pieces[i].cells) > len(pieces[j].cells)
		}
		return pieces[i].first < pieces[j].first
	})
	out := make([][]CellKey, n)
	for _, pc := range pieces {
		best := 0
		for s := 1; s < n; s++ {
			if len(out[s]) < len(out[best]) {
				best = s
			}
		}
		out[best] = append(out[best], pc.cells...)
	}
	// Each shard runs its cells in matrix order.
	pos := map[CellKey]int{}
	for i, c := range cells {
		pos[c] = i
	}
	for s := range out {
		sort.Slice(out[s], func(i, j int) bool { return pos[out[s][i]] < pos[out[s][j]] })
	}
	return out
}

// shardCells are the cells of the plan's shard: cells that share a prefix
// stay together (see Partition).
func shardCells(p Plan) map[CellKey]bool {
	var all []CellKey
	col := map[CellKey]Column{}
	vari := map[string]Variant{}
	for _, c := range p.Resolved.Columns {
		for _, v := range p.Variants {
			k := CellKey{v.Name, c.PG, c.Archiver}
			all = append(all, k)
			col[k], vari[v.Name] = c, v
		}
	}
	out := map[CellKey]bool{}
	if p.Shard.Whole() {
		for _, k := range all {
			out[k] = true
		}
		return out
	}
	group := func(k CellKey) string {
		if !p.Share {
			return ""
		}
		doc := p.doc()
		return prefixKey(p.Lab, vari[k.Variant], col[k], doc.Steps[:p.prefixLen(doc)])
	}
	for _, k := range Partition(all, group, p.Shard.N)[p.Shard.K-1] {
		out[k] = true
	}
	return out
}
