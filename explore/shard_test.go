package explore

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseShard(t *testing.T) {
	if s, err := ParseShard("2/3"); err != nil || s != (Shard{2, 3}) || s.String() != "2/3" || s.Whole() {
		t.Errorf("2/3: %+v %v", s, err)
	}
	for _, bad := range []string{"0/3", "4/3", "3", "a/b", "1/0", "-1/2"} {
		if _, err := ParseShard(bad); err == nil || !strings.Contains(err.Error(), "K/N") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if !(Shard{}).Whole() || !(Shard{1, 1}).Whole() {
		t.Error("zero shard or 1/1 is not the whole matrix")
	}
}

// cellsOf is variants × columns in matrix order (columns outer, as Run
// queues them).
func cellsOf(variants []string, pgs ...int) []CellKey {
	var out []CellKey
	for _, pg := range pgs {
		for _, v := range variants {
			out = append(out, CellKey{v, pg, "cp"})
		}
	}
	return out
}

func byColumn(k CellKey) string { return fmt.Sprint(k.PG) }

func shardOf(parts [][]CellKey) map[CellKey]int {
	out := map[CellKey]int{}
	for s, p := range parts {
		for _, k := range p {
			out[k] = s
		}
	}
	return out
}

func TestPartitionCoversEveryCellOnce(t *testing.T) {
	vs := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}
	cells := cellsOf(vs, 13, 15, 17)
	for n := 1; n <= 30; n++ {
		parts := Partition(cells, byColumn, n)
		if len(parts) != n {
			t.Fatalf("n=%d: %d shards", n, len(parts))
		}
		seen := map[CellKey]int{}
		lo, hi := len(cells), 0
		for _, p := range parts {
			for _, k := range p {
				seen[k]++
			}
			lo, hi = min(lo, len(p)), max(hi, len(p))
		}
		for _, k := range cells {
			if seen[k] != 1 {
				t.Fatalf("n=%d: cell %s in %d shards", n, k, seen[k])
			}
		}
		if n <= len(cells) && hi-lo > (len(cells)+n-1)/n {
			t.Errorf("n=%d: shards of %d to %d cells", n, lo, hi)
		}
		// Same input, same slices: every machine computes its own.
		if again := Partition(cells, byColumn, n); fmt.Sprint(again) != fmt.Sprint(parts) {
			t.Fatalf("n=%d: partition is not deterministic", n)
		}
	}
}

func TestPartitionKeepsPrefixGroupsTogether(t *testing.T) {
	// 9 variants × 3 columns in 3 shards: one column each, so each shard
	// builds one prefix.
	cells := cellsOf([]string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}, 13, 15, 17)
	parts := Partition(cells, byColumn, 3)
	for s, p := range parts {
		if len(p) != 9 {
			t.Fatalf("shard %d has %d cells", s+1, len(p))
		}
		for _, k := range p {
			if k.PG != p[0].PG {
				t.Errorf("shard %d mixes columns: %v", s+1, p)
				break
			}
		}
	}
	// Two columns of one prefix each in 2 shards: never split.
	parts = Partition(cellsOf([]string{"a", "b", "c"}, 15, 17), byColumn, 2)
	for s, p := range parts {
		if len(p) != 3 || p[0].PG != p[2].PG {
			t.Errorf("2 shards: shard %d is %v", s+1, p)
		}
	}
}

func TestPartitionSplitsGroupsOnlyForMoreShards(t *testing.T) {
	// The CI matrix: 3 variants × 2 columns in 3 shards. Two groups cannot
	// fill three shards: each is split once, and every shard runs 2 cells.
	cells := cellsOf([]string{"default", "no-target", "switch-after-13"}, 15, 17)
	parts := Partition(cells, byColumn, 3)
	want := "[[default pg15 cp no-target pg15 cp] [default pg17 cp no-target pg17 cp] [switch-after-13 pg15 cp switch-after-13 pg17 cp]]"
	if got := fmt.Sprint(parts); got != want {
		t.Errorf("partition\n got %s\nwant %s", got, want)
	}
	// Without shared prefixes every cell is its own group.
	parts = Partition(cells, func(CellKey) string { return "" }, 4)
	sizes := []int{}
	for _, p := range parts {
		sizes = append(sizes, len(p))
	}
	if fmt.Sprint(sizes) != "[2 2 1 1]" {
		t.Errorf("no groups, 4 shards: sizes %v", sizes)
	}
	// More shards than cells: some are empty, none gets two.
	parts = Partition(cells, byColumn, 8)
	if s := shardOf(parts); len(s) != 6 {
		t.Errorf("8 shards: %v", parts)
	}
	for _, p := range parts {
		if len(p) > 1 {
			t.Errorf("8 shards: a shard of %d", len(p))
		}
	}
}

// The catalogue on 4 majors × 2 archivers: scram-password changes an early
// hook, so each column has two prefix groups (8 variants and 1). With one
// shard per column every shard is one column; 6 shards leave two shards
// twice the cells, as docs/explore-at-scale.md warns.
func TestPartitionOfTheCatalogue(t *testing.T) {
	var cells []CellKey
	for _, pg := range []int{13, 15, 17, 18} {
		for _, a := range []string{"cp", "wal-g"} {
			for _, v := range BuiltinNames() {
				cells = append(cells, CellKey{v, pg, a})
			}
		}
	}
	group := func(k CellKey) string {
		g := fmt.Sprintf("%d %s", k.PG, k.Archiver)
		if k.Variant == "scram-password" {
			g += " scram"
		}
		return g
	}
	for s, p := range Partition(cells, group, 8) {
		if len(p) != 9 {
			t.Fatalf("8 shards: shard %d has %d cells", s+1, len(p))
		}
		for _, k := range p {
			if k.PG != p[0].PG || k.Archiver != p[0].Archiver {
				t.Fatalf("8 shards: shard %d mixes columns: %v", s+1, p)
			}
		}
	}
	most := 0
	for _, p := range Partition(cells, group, 6) {
		most = max(most, len(p))
	}
	if most != 16 { // two columns' 8-variant groups, their scram cells elsewhere
		t.Errorf("6 shards: the largest has %d cells", most)
	}
}
