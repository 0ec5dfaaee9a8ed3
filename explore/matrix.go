package explore

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Column is one PostgreSQL major version with one archiver.
type Column struct {
	PG       int    `json:"pg"`
	Archiver string `json:"archiver"`
	PGBin    string `json:"pg_bin,omitempty"` // local backend: the version's binaries
	Image    string `json:"image,omitempty"`  // docker backend: servers and initdb
}

// Label is how a column is headed: "pg15 cp".
func (c Column) Label() string { return fmt.Sprintf("pg%d %s", c.PG, c.Archiver) }

func (c Column) slug() string { return fmt.Sprintf("pg%d-%s", c.PG, c.Archiver) }

// VerdictFailed counts a run in which a playbook step failed: its verdict
// is not trustworthy, so the cell says failed rather than a guess.
const VerdictFailed = "failed"

// RunResult is one run of one cell.
type RunResult struct {
	Run        int    `json:"run"`
	Verdict    string `json:"verdict"`             // the cell's count key: the diagnosis, or failed
	Diagnosis  string `json:"diagnosis,omitempty"` // what the diagnosis said when a step failed
	FailedStep string `json:"failed_step,omitempty"`
	Error      string `json:"error,omitempty"`
	MS         int64  `json:"ms"`
	Transcript string `json:"transcript,omitempty"` // relative to the explore dir
	Report     string `json:"report,omitempty"`     // relative to the explore dir
}

// Cell is one variant in one column.
type Cell struct {
	Variant  string         `json:"variant"`
	PG       int            `json:"pg"`
	Archiver string         `json:"archiver"`
	Backend  string         `json:"backend"`
	Runs     int            `json:"runs"`
	Verdicts map[string]int `json:"verdicts"`
	MedianMS int64          `json:"median_ms"`
	Rates    []Rate         `json:"rates"` // each verdict's share with its 95% interval
	Results  []RunResult    `json:"results"`
	planned  int
}

// Done reports whether every planned run of the cell has a result.
func (c *Cell) Done() bool { return c.planned > 0 && len(c.Results) >= c.planned }

func (c *Cell) add(r RunResult) {
	c.Results = append(c.Results, r)
	sort.Slice(c.Results, func(i, j int) bool { return c.Results[i].Run < c.Results[j].Run })
	c.Runs = len(c.Results)
	c.Verdicts = map[string]int{}
	var ms []int64
	for _, x := range c.Results {
		c.Verdicts[x.Verdict]++
		ms = append(ms, x.MS)
	}
	c.Rates = Rates(c.Verdicts)
	sort.Slice(ms, func(i, j int) bool { return ms[i] < ms[j] })
	n := len(ms)
	if n%2 == 1 {
		c.MedianMS = ms[n/2]
	} else {
		c.MedianMS = (ms[n/2-1] + ms[n/2]) / 2
	}
}

// Summary is the cell's text: "diverged 3/3", "healthy 2/3 · unknown 1/3";
// with more than one run each share carries its 95% interval:
// "diverged 2/3 (20–94%) · healthy 1/3 (6–80%)".
func (c *Cell) Summary() string {
	if c.Runs == 0 {
		return "not run"
	}
	keys := make([]string, 0, len(c.Verdicts))
	for k := range c.Verdicts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if c.Verdicts[keys[i]] != c.Verdicts[keys[j]] {
			return c.Verdicts[keys[i]] > c.Verdicts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d/%d", k, c.Verdicts[k], c.plannedOrRuns())+c.interval(k))
	}
	return strings.Join(parts, " · ")
}

// interval is " (lo–hi%)" for a verdict of a cell of several runs.
func (c *Cell) interval(verdict string) string {
	if c.Runs < 2 {
		return ""
	}
	for _, r := range c.Rates {
		if r.Verdict == verdict {
			return " (" + r.Interval() + ")"
		}
	}
	return ""
}

func (c *Cell) plannedOrRuns() int {
	if c.planned > c.Runs {
		return c.planned
	}
	return c.Runs
}

// Median is the cell's median run time, rounded for reading.
func (c *Cell) Median() string {
	return roundDur(time.Duration(c.MedianMS) * time.Millisecond)
}

func roundDur(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= 10*time.Second:
		return fmt.Sprintf("%.0fs", d.Seconds())
	default:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
}

// PrefixInfo is one shared prefix: the steps before the first step that
// may differ between variants, run once per column (and per wal-g.json or
// early hooks a variant changes).
type PrefixInfo struct {
	PG         int    `json:"pg"`
	Archiver   string `json:"archiver"`
	Key        string `json:"key"`
	MS         int64  `json:"ms"`
	Steps      string `json:"steps"`
	Transcript string `json:"transcript,omitempty"`
	Error      string `json:"error,omitempty"`
}

// Matrix is the outcome of an exploration.
type Matrix struct {
	Lab         string       `json:"lab"`
	Dir         string       `json:"dir"`
	Backend     string       `json:"backend"`
	Started     time.Time    `json:"started"`
	WallMS      int64        `json:"wall_ms"`
	SumRunsMS   int64        `json:"sum_runs_ms"` // the runs' own times, prefixes included once each
	Jobs        int          `json:"jobs"`
	Repeat      int          `json:"repeat"`
	Shared      bool         `json:"shared_prefix"`
	Interrupted bool         `json:"interrupted,omitempty"`
	Variants    []Variant    `json:"variants"`
	Columns     []Column     `json:"columns"`
	Prefixes    []PrefixInfo `json:"prefixes,omitempty"`
	Cells       []*Cell      `json:"cells"` // a shard's own cells only
	Identity    Identity     `json:"identity"`
}

// Cell returns the cell of variant v in column c.
func (m *Matrix) Cell(v string, c Column) *Cell {
	for _, x := range m.Cells {
		if x.Variant == v && x.PG == c.PG && x.Archiver == c.Archiver {
			return x
		}
	}
	return nil
}

// CellsDone counts the cells with all their runs.
func (m *Matrix) CellsDone() int {
	n := 0
	for _, c := range m.Cells {
		if c.Done() {
			n++
		}
	}
	return n
}
