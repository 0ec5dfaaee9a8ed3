package explore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"walstep/cluster"
	"walstep/playbook"
	"walstep/steps"
)

// Job is one playbook run (or a shared prefix) for the Executor.
type Job struct {
	Lab     *cluster.Lab
	Backend string // local or docker
	Column  Column
	WalG    string // the local backend's wal-g binary
	Name    string // unique among concurrent jobs: Docker names its containers after it
	From    string // the first step to run; "" from the start
	Until   string // the first step not to run; "" to the end
	// Keep asks for a checkpoint of the lab before Until once the steps
	// ran (a shared prefix): the runs start from it.
	Keep bool
	// Prepare runs once the job's backend is open, before its first step.
	Prepare func(ctx context.Context, env *steps.Env) error
	// Check, when set, runs after the steps when none failed, while the
	// backend is open: an error fails the job (a prefix that did not leave
	// what the rest needs).
	Check      func(ctx context.Context, env *steps.Env) error
	Notes      []string // lines for the transcript's header
	Transcript string   // Markdown transcript path
	Report     string   // JSON report path
}

// Outcome is how a Job ended.
type Outcome struct {
	Verdict    string // the diagnosis's verdict
	FailedStep string // the step that failed, "" when none did
	StepError  string // that step's error
}

// Executor runs a Job: opens its backend, runs its steps, writes its
// transcript and report, stops its servers.
type Executor func(ctx context.Context, j Job) (Outcome, error)

// Plan is one exploration.
type Plan struct {
	Lab      *cluster.Lab
	Variants []Variant
	Resolved Resolved
	Repeat   int
	Jobs     int
	Share    bool // start runs from shared prefixes
	// From is where runs start (explore --from): the prefix before it is
	// kept once per column and variants that agree on what it reads;
	// "" shares the steps before the first that reads a file variants
	// change.
	From string
	// Playbook is what the runs run (the seed's when nil): it says which
	// steps a prefix may share.
	Playbook *playbook.Doc
	Dir      string // where results go: the lab's explore/<timestamp>
	Name     string // base of the jobs' names
	Exec     Executor
	// Shard is the slice of the matrix to run (the zero value: all of it)
	// and Identity what the matrix is, for merging shards.
	Shard    Shard
	Identity Identity
}

// Explorer runs a plan and answers progress questions while it does.
type Explorer struct {
	plan    Plan
	runDone func(c *Cell, r RunResult, p Progress)
	saved   func(m *Matrix)
	mine    map[CellKey]bool // the cells of this shard
	mu      sync.Mutex
	m       *Matrix
	current map[string]bool
	runsOK  int
	runs    int
	runMS   int64
	started time.Time
}

// New prepares an exploration; Run starts it.
func New(p Plan) *Explorer {
	if p.Repeat < 1 {
		p.Repeat = 1
	}
	if p.Jobs < 1 {
		p.Jobs = 1
	}
	m := &Matrix{Lab: p.Lab.Dir, Dir: p.Dir, Backend: p.Resolved.Backend, Jobs: p.Jobs, Repeat: p.Repeat, Shared: p.Share,
		Variants: p.Variants, Columns: p.Resolved.Columns, Identity: p.Identity, Interrupted: true}
	mine := shardCells(p)
	for _, v := range p.Variants {
		for _, c := range p.Resolved.Columns {
			if mine[CellKey{v.Name, c.PG, c.Archiver}] {
				m.Cells = append(m.Cells, &Cell{Variant: v.Name, PG: c.PG, Archiver: c.Archiver, Backend: p.Resolved.Backend, Verdicts: map[string]int{}, planned: p.Repeat})
			}
		}
	}
	return &Explorer{plan: p, m: m, mine: mine, current: map[string]bool{}, runs: len(m.Cells) * p.Repeat}
}

// SetSaved sets a function called with the matrix after each run, while
// the matrix cannot change, so the caller can write what is finished so
// far: a shard killed midway keeps its finished cells. Set it before Run.
func (e *Explorer) SetSaved(f func(m *Matrix)) { e.saved = f }

// SetRunDone sets a function called after each run with the run's cell
// and the progress, one call at a time. Set it before Run.
func (e *Explorer) SetRunDone(f func(c *Cell, r RunResult, p Progress)) { e.runDone = f }

// Progress is a snapshot of where the exploration stands.
func (e *Explorer) Progress() Progress {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.progressLocked()
}

func (e *Explorer) progressLocked() Progress {
	p := Progress{Shard: e.plan.Shard, CellsDone: e.m.CellsDone(), Cells: len(e.m.Cells), RunsDone: e.runsOK, Runs: e.runs}
	for c := range e.current {
		p.Current = append(p.Current, c)
	}
	sort.Strings(p.Current)
	if !e.started.IsZero() {
		p.Elapsed = time.Since(e.started)
	}
	if e.runsOK > 0 {
		avg := time.Duration(e.runMS/int64(e.runsOK)) * time.Millisecond
		p.Left = avg * time.Duration(e.runs-e.runsOK) / time.Duration(e.plan.Jobs)
	}
	return p
}

type prefixState struct {
	once sync.Once
	done chan struct{}
	lab  *cluster.Lab
	err  error
	info PrefixInfo
}

type runJob struct {
	v   Variant
	c   Column
	n   int
	key string
}

func (e *Explorer) busy(label string, on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if on {
		e.current[label] = true
	} else {
		delete(e.current, label)
	}
}

// Run runs every cell's runs, up to Jobs at a time, and returns the
// matrix. A cancelled ctx stops it: runs under way are stopped and left
// out, and the matrix holds the runs finished before.
func (e *Explorer) Run(ctx context.Context) *Matrix {
	p := e.plan
	e.mu.Lock()
	e.started = time.Now()
	e.m.Started = e.started
	e.mu.Unlock()

	doc := e.playbook()
	shared := doc.Steps[:p.prefixLen(doc)]
	share := p.Share && stepAt(doc, len(shared)) != ""
	prefixes := map[string]*prefixState{}
	var order []string
	var queue []any
	for _, c := range p.Resolved.Columns {
		for _, v := range p.Variants {
			if !e.mine[CellKey{v.Name, c.PG, c.Archiver}] {
				continue
			}
			k := ""
			if share {
				k = prefixKey(p.Lab, v, c, shared)
				if _, ok := prefixes[k]; !ok && k != "" {
					prefixes[k] = &prefixState{done: make(chan struct{})}
					order = append(order, k)
					queue = append(queue, prefixJob{key: k, v: v, c: c})
				}
			}
		}
	}
	// Prefixes first, so a free worker builds the next one while another
	// waits on its own; then the runs, column by column.
	for _, c := range p.Resolved.Columns {
		for _, v := range p.Variants {
			if !e.mine[CellKey{v.Name, c.PG, c.Archiver}] {
				continue
			}
			for n := 1; n <= p.Repeat; n++ {
				k := ""
				if share {
					k = prefixKey(p.Lab, v, c, shared)
				}
				queue = append(queue, runJob{v: v, c: c, n: n, key: k})
			}
		}
	}
	work := make(chan any)
	var wg sync.WaitGroup
	seq := 0
	var seqMu sync.Mutex
	name := func() string {
		seqMu.Lock()
		defer seqMu.Unlock()
		seq++
		return fmt.Sprintf("%s-%d", p.Name, seq)
	}
	for i := 0; i < p.Jobs; i++ {
		wg.Add(1)
		go func() { // joined by wg below
			defer wg.Done()
			for j := range work {
				switch j := j.(type) {
				case prefixJob:
					e.buildPrefix(ctx, prefixes[j.key], j, name())
				case runJob:
					e.run(ctx, prefixes[j.key], j, name())
				}
			}
		}()
	}
feed:
	for _, j := range queue {
		select {
		case work <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	for _, k := range order {
		if ps := prefixes[k]; ps.lab != nil {
			removeData(ps.lab)
		}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	for _, k := range order {
		if ps := prefixes[k]; ps.info.Key != "" {
			e.m.Prefixes = append(e.m.Prefixes, ps.info)
			e.m.SumRunsMS += ps.info.MS
		}
	}
	e.m.WallMS = time.Since(e.started).Milliseconds()
	e.m.Interrupted = ctx.Err() != nil || e.m.CellsDone() < len(e.m.Cells)
	return e.m
}

// playbook is the plan's playbook, the seed's when it names none.
func (e *Explorer) playbook() *playbook.Doc { return e.plan.doc() }

func (p Plan) doc() *playbook.Doc {
	if p.Playbook != nil {
		return p.Playbook
	}
	return playbook.Seed()
}

type prefixJob struct {
	key string
	v   Variant
	c   Column
}

func (e *Explorer) buildPrefix(ctx context.Context, ps *prefixState, j prefixJob, name string) {
	defer close(ps.done)
	label := "prefix " + j.c.Label()
	e.busy(label, true)
	defer e.busy(label, false)
	rel := filepath.Join("prefix", j.c.slug()+"-"+j.key)
	dir := filepath.Join(e.plan.Dir, rel)
	doc := e.playbook()
	n := e.plan.prefixLen(doc)
	info := PrefixInfo{PG: j.c.PG, Archiver: j.c.Archiver, Key: j.key, Steps: rangeOf(doc.Steps[:n]), Transcript: filepath.Join(rel, "transcript.md")}
	begin := time.Now()
	lab, err := newRunLab(dir, e.plan.Lab, j.v)
	if err == nil {
		var out Outcome
		check := func(ctx context.Context, env *steps.Env) error { return verifyPrefix(ctx, env.Backend, doc, n) }
		out, err = e.plan.Exec(ctx, Job{Lab: lab, Backend: e.plan.Resolved.Backend, Column: j.c, WalG: e.plan.Resolved.WalG, Name: name,
			Until: stepAt(doc, n), Keep: true, Check: check, Transcript: filepath.Join(dir, "transcript.md"), Report: filepath.Join(dir, "report.json")})
		if err == nil && out.FailedStep != "" {
			err = fmt.Errorf("step %s failed (see %s)", out.FailedStep, info.Transcript)
		}
	}
	info.MS = time.Since(begin).Milliseconds()
	if err != nil && ctx.Err() == nil {
		info.Error = err.Error()
	}
	ps.lab, ps.err, ps.info = lab, err, info
}

func (e *Explorer) run(ctx context.Context, ps *prefixState, j runJob, name string) {
	label := fmt.Sprintf("%s %s #%d", j.v.Name, j.c.Label(), j.n)
	if ps != nil {
		select {
		case <-ps.done:
		case <-ctx.Done():
			return
		}
	}
	e.busy(label, true)
	defer e.busy(label, false)
	rel := filepath.Join(j.v.Name, j.c.slug(), fmt.Sprintf("run%d", j.n))
	dir := filepath.Join(e.plan.Dir, rel)
	res := RunResult{Run: j.n, Transcript: filepath.Join(rel, "transcript.md"), Report: filepath.Join(rel, "report.json")}
	begin := time.Now()
	lab, err := newRunLab(dir, e.plan.Lab, j.v)
	job := Job{Lab: lab, Backend: e.plan.Resolved.Backend, Column: j.c, WalG: e.plan.Resolved.WalG, Name: name,
		Transcript: filepath.Join(dir, "transcript.md"), Report: filepath.Join(dir, "report.json")}
	if err == nil && ps != nil {
		if ps.err != nil {
			err = fmt.Errorf("shared prefix failed: %w", ps.err)
		} else {
			doc := e.playbook()
			job.From, job.Prepare = stepAt(doc, e.plan.prefixLen(doc)), clonePrefix(ps.lab)
			link, _ := filepath.Rel(dir, filepath.Join(e.plan.Dir, ps.info.Transcript))
			job.Notes = append(job.Notes, fmt.Sprintf("steps %s ran once for every run of this column in a shared prefix and were copied into this lab: see %s", ps.info.Steps, filepath.ToSlash(link)))
		}
	}
	var out Outcome
	if err == nil {
		out, err = e.plan.Exec(ctx, job)
	}
	res.MS = time.Since(begin).Milliseconds()
	if ctx.Err() != nil {
		return // an interrupted run says nothing about the cell
	}
	switch {
	case err != nil:
		res.Verdict, res.Error = VerdictFailed, err.Error()
	case out.FailedStep != "":
		res.Verdict, res.Diagnosis, res.FailedStep, res.Error = VerdictFailed, out.Verdict, out.FailedStep, out.StepError
	default:
		res.Verdict = out.Verdict
	}
	if lab != nil {
		removeData(lab)
	}
	e.mu.Lock()
	c := e.m.Cell(j.v.Name, j.c)
	c.add(res)
	e.runsOK++
	e.runMS += res.MS
	e.m.SumRunsMS += res.MS
	e.mu.Unlock()
	if e.runDone != nil || e.saved != nil {
		e.mu.Lock() // one call at a time, and the cell is not changed under it
		if e.saved != nil {
			e.m.WallMS = time.Since(e.started).Milliseconds()
			e.saved(e.m)
		}
		if e.runDone != nil {
			e.runDone(c, res, e.progressLocked())
		}
		e.mu.Unlock()
	}
}

// removeData removes a finished lab's data dirs and archive: they are big,
// and the transcript and the report say what they held; logs and confs
// stay.
func removeData(lab *cluster.Lab) {
	var dirs []string
	for _, n := range lab.KnownNodes() {
		dirs = append(dirs, cluster.DataDirName(n))
	}
	for _, d := range append(dirs, cluster.StorageDir, cluster.CheckpointsDir) {
		_ = lab.Remove(nil, lab.Path(d))
	}
}

// newRunLab makes dir/lab a fresh lab with the base lab's files and the
// variant's over them, reachable by the server user.
func newRunLab(dir string, base *cluster.Lab, v Variant) (*cluster.Lab, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create run dir: %w", err)
	}
	lab, err := cluster.InitLab(filepath.Join(dir, "lab"))
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(lab.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("open run lab to the server user: %w", err)
	}
	if err := v.Apply(base, lab); err != nil {
		return nil, err
	}
	return lab, nil
}
