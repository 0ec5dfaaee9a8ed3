package explore

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCellSummaryAndMedian(t *testing.T) {
	c := &Cell{Variant: "default", PG: 15, Archiver: "cp", planned: 3, Verdicts: map[string]int{}}
	c.add(RunResult{Run: 2, Verdict: "healthy", MS: 4000})
	c.add(RunResult{Run: 1, Verdict: "diverged", MS: 3000})
	if c.Done() {
		t.Error("a cell with 2 of 3 runs is done")
	}
	c.add(RunResult{Run: 3, Verdict: "healthy", MS: 9000})
	if got := c.Summary(); got != "healthy 2/3 (20–94%) · diverged 1/3 (6–80%)" {
		t.Errorf("summary %q", got)
	}
	if c.MedianMS != 4000 || c.Median() != "4.0s" || !c.Done() || c.Results[0].Run != 1 {
		t.Errorf("median %d %s done %v order %v", c.MedianMS, c.Median(), c.Done(), c.Results)
	}
}

func TestMatrixJSONShape(t *testing.T) {
	m := &Matrix{Cells: []*Cell{{Variant: "default", PG: 13, Archiver: "wal-g", Backend: "docker", planned: 1}}}
	m.Cells[0].add(RunResult{Run: 1, Verdict: "diverged", MS: 1234})
	b, _ := json.Marshal(m)
	var got struct {
		Cells []struct {
			Variant  string         `json:"variant"`
			PG       int            `json:"pg"`
			Archiver string         `json:"archiver"`
			Backend  string         `json:"backend"`
			Runs     int            `json:"runs"`
			Verdicts map[string]int `json:"verdicts"`
			MedianMS int64          `json:"median_ms"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	c := got.Cells[0]
	if c.Variant != "default" || c.PG != 13 || c.Archiver != "wal-g" || c.Backend != "docker" || c.Runs != 1 || c.Verdicts["diverged"] != 1 || c.MedianMS != 1234 {
		t.Fatalf("cell JSON %s", b)
	}
}

func TestTextAndMarkdownShowCellsAndLinks(t *testing.T) {
	cols := []Column{{PG: 15, Archiver: "cp"}, {PG: 17, Archiver: "wal-g"}}
	m := &Matrix{Dir: "/lab/explore/x", Backend: "docker", Repeat: 1, Jobs: 2, Started: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC),
		Variants: []Variant{{Name: "default", Description: "the lab"}, {Name: "no-target"}}, Columns: cols, Interrupted: true}
	for _, v := range m.Variants {
		for _, c := range cols {
			m.Cells = append(m.Cells, &Cell{Variant: v.Name, PG: c.PG, Archiver: c.Archiver, planned: 1, Verdicts: map[string]int{}})
		}
	}
	m.Cell("default", cols[0]).add(RunResult{Run: 1, Verdict: "diverged", MS: 3100, Transcript: "default/pg15-cp/run1/transcript.md"})
	var text strings.Builder
	WriteText(&text, m)
	for _, want := range []string{"pg15 cp", "pg17 wal-g", "diverged 1/1 · 3.1s", "—", "interrupted: 1 of 4 cells done", "the lab"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	var md strings.Builder
	WriteMarkdown(&md, m, "/lab")
	for _, want := range []string{"| `default` | diverged 1/1 · 3.1s (runs [1](explore/x/default/pg15-cp/run1/transcript.md)) | — |", "PostgreSQL 17, wal-g", "2026-11-30 09:00 UTC"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}

func TestBadVersionsAndArchiversNameWhatExists(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		r    Request
		want string
	}{
		{Request{Backend: "local", PG: "14"}, "13, 15, 17 or 18"},
		{Request{Backend: "local", Archivers: "rsync"}, "cp and wal-g"},
		{Request{Backend: "kube"}, "auto, local or docker"},
	} {
		_, err := Resolve(ctx, tc.r)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want it to name %q", tc.r, err, tc.want)
		}
	}
	have := installedVersions("")
	for _, v := range KnownVersions {
		if _, ok := have[v]; ok {
			continue
		}
		_, err := Resolve(ctx, Request{Backend: "local", PG: itoa(v)})
		if err == nil || !strings.Contains(err.Error(), "not installed") || !strings.Contains(err.Error(), "--backend docker") {
			t.Errorf("local --pg %d (not installed): err %v", v, err)
		}
	}
}

func itoa(v int) string { return strconv.Itoa(v) }

func TestProgressLine(t *testing.T) {
	p := Progress{CellsDone: 2, Cells: 6, RunsDone: 2, Runs: 6, Current: []string{"default pg15 cp #1"}, Elapsed: 12 * time.Second, Left: 30 * time.Second}
	if got := p.Line(); got != "cells 2/6 · runs 2/6 · now: default pg15 cp #1 · 12s elapsed, ~30s left" {
		t.Errorf("line %q", got)
	}
	p.Shard = Shard{K: 2, N: 3}
	if got := p.Line(); got != "shard 2/3 · cells 2/6 · runs 2/6 · now: default pg15 cp #1 · 12s elapsed, ~30s left" {
		t.Errorf("shard line %q", got)
	}
}
