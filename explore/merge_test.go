package explore

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// shardMatrix is a decoded shard result of variants × pg15,pg17 cp: its
// cells with one run each, verdicts from done ("" leaves the cell not run).
func shardMatrix(t *testing.T, k, n int, done map[CellKey]string, cells ...CellKey) *Matrix {
	t.Helper()
	m := &Matrix{Backend: "local", Repeat: 1, Jobs: 1, Started: time.Date(2026, 12, 1, 20, k, 0, 0, time.UTC), WallMS: int64(k) * 1000,
		Variants: []Variant{{Name: "default"}, {Name: "no-target"}}, Columns: []Column{{PG: 15, Archiver: "cp"}, {PG: 17, Archiver: "cp"}},
		Identity: Identity{Variants: []VariantID{{"default", "aaa"}, {"no-target", "bbb"}}, Columns: []string{"pg15 cp", "pg17 cp"},
			Backend: "local", Repeat: 1, Shared: true, Playbook: "built-in x", Walstep: "v1", Shard: Shard{k, n}}}
	for _, c := range cells {
		cell := &Cell{Variant: c.Variant, PG: c.PG, Archiver: c.Archiver, Backend: "local", Verdicts: map[string]int{}, planned: 1}
		if v := done[c]; v != "" {
			cell.add(RunResult{Run: 1, Verdict: v, MS: 100, Transcript: filepath.Join(c.Variant, "run1", "transcript.md")})
		}
		m.Cells = append(m.Cells, cell)
	}
	// Round-trip through JSON, as merge reads shards.
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out Matrix
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

var (
	d15 = CellKey{"default", 15, "cp"}
	n15 = CellKey{"no-target", 15, "cp"}
	d17 = CellKey{"default", 17, "cp"}
	n17 = CellKey{"no-target", 17, "cp"}
)

func TestMergeFoldsShardsAndLinksTranscripts(t *testing.T) {
	verdicts := map[CellKey]string{d15: "diverged", n15: "healthy", d17: "diverged", n17: "healthy"}
	out := t.TempDir()
	mg, err := Merge([]ShardResult{
		{Dir: "/vol/shard-2/explore/x", M: shardMatrix(t, 2, 2, verdicts, d17, n17)},
		{Dir: "/vol/shard-1/explore/y", M: shardMatrix(t, 1, 2, verdicts, d15, n15)},
	}, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(mg.Missing) != 0 || mg.Interrupted || len(mg.Cells) != 4 || len(mg.Shards) != 2 || mg.Shards[0].Shard.K != 1 {
		t.Fatalf("merged: missing %v interrupted %v cells %d shards %+v", mg.Missing, mg.Interrupted, len(mg.Cells), mg.Shards)
	}
	for k, v := range verdicts {
		c := mg.Cell(k.Variant, Column{PG: k.PG, Archiver: k.Archiver})
		if c == nil || c.Verdicts[v] != 1 || !c.Done() {
			t.Errorf("cell %s: %+v", k, c)
		}
	}
	if mg.WallMS != 2000 || mg.Identity.Shard != (Shard{}) {
		t.Errorf("wall %d (want the slowest shard's), identity shard %v", mg.WallMS, mg.Identity.Shard)
	}
	var md bytes.Buffer
	WriteMarkdown(&md, mg.Matrix, out)
	rel, _ := filepath.Rel(out, "/vol/shard-2/explore/x/default/run1/transcript.md")
	if !strings.Contains(md.String(), "[1]("+rel+")") {
		t.Errorf("markdown does not link shard 2's transcript as %s:\n%s", rel, md.String())
	}
}

func TestMergeRefusesOtherMatrices(t *testing.T) {
	a := shardMatrix(t, 1, 2, nil, d15, n15)
	for _, tc := range []struct {
		change func(m *Matrix)
		want   string
	}{
		{func(m *Matrix) { m.Identity.Variants = m.Identity.Variants[:1] }, "variants differ (default,no-target vs default)"},
		{func(m *Matrix) { m.Identity.Variants[1].Hash = "ccc" }, "variant no-target has other files (bbb vs ccc)"},
		{func(m *Matrix) { m.Identity.Columns = []string{"pg15 cp", "pg18 cp"} }, "versions and archivers differ (pg15 cp, pg17 cp vs pg15 cp, pg18 cp)"},
		{func(m *Matrix) { m.Identity.Repeat = 3 }, "runs per cell differ (--repeat 1 vs 3)"},
		{func(m *Matrix) { m.Identity.Playbook = "playbook.yaml y" }, "playbooks differ (built-in x vs playbook.yaml y)"},
		{func(m *Matrix) { m.Identity.Walstep = "v2" }, "walstep versions differ (v1 vs v2)"},
		{func(m *Matrix) { m.Identity.Shard.N = 3 }, "shard counts differ (1/2 vs 2/3)"},
	} {
		b := shardMatrix(t, 2, 2, nil, d17, n17)
		tc.change(b)
		_, err := Merge([]ShardResult{{Dir: "/a", M: a}, {Dir: "/b", M: b}}, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("want one line with %q, got %v", tc.want, err)
		}
	}
}

func TestMergeNamesMissingCells(t *testing.T) {
	// Shard 1 was interrupted after one of its cells; shard 3 never wrote
	// its results.
	mg, err := Merge([]ShardResult{
		{Dir: "/s1", M: shardMatrix(t, 1, 3, map[CellKey]string{d15: "diverged"}, d15, n15)},
		{Dir: "/s2", M: shardMatrix(t, 2, 3, map[CellKey]string{d17: "diverged"}, d17)},
	}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var txt bytes.Buffer
	WriteMergeNotes(&txt, mg, false)
	for _, want := range []string{
		"no-target pg15 cp: shard 1/3 finished 0 of its 1 runs (interrupted)",
		"no-target pg17 cp: its shard is not among those given (missing: 3/3)",
		"missing 2 cell(s)",
	} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("notes lack %q:\n%s", want, txt.String())
		}
	}
	if !mg.Interrupted {
		t.Error("a merged matrix with missing cells is not marked interrupted")
	}
}

func TestMergeKeepsTheBetterOfARetriedShard(t *testing.T) {
	first := shardMatrix(t, 1, 2, map[CellKey]string{d15: "diverged"}, d15, n15)
	retry := shardMatrix(t, 1, 2, map[CellKey]string{d15: "diverged", n15: "healthy"}, d15, n15)
	mg, err := Merge([]ShardResult{{Dir: "/retry", M: retry}, {Dir: "/first", M: first},
		{Dir: "/s2", M: shardMatrix(t, 2, 2, map[CellKey]string{d17: "diverged", n17: "healthy"}, d17, n17)}}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(mg.Missing) != 0 || len(mg.Notes) != 1 || !strings.Contains(mg.Notes[0], "kept /retry (2 cells done), left out /first (1)") {
		t.Errorf("missing %v notes %v", mg.Missing, mg.Notes)
	}
}
