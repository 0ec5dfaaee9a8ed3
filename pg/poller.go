package pg

import (
	"context"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"walstep/cluster"
	"walstep/untrusted"
)

// Source is what the poller needs from a backend; cluster.Backend has it.
type Source interface {
	State(ctx context.Context, node cluster.Node) (cluster.ProcState, error)
	ConnString(node cluster.Node) string
	LogTail(ctx context.Context, node cluster.Node, n int) ([]string, error)
	ControlData(ctx context.Context, node cluster.Node) (string, error)
	Postmaster(ctx context.Context, node cluster.Node) (cluster.PostmasterFile, error)
	// The data dirs and the archive are read through the backend, so no
	// host path is assumed.
	ReadFile(ctx context.Context, node cluster.Node, area cluster.FileArea, name string) ([]byte, error)
	ReadDir(ctx context.Context, node cluster.Node, area cluster.FileArea, name string) ([]cluster.FileInfo, error)
}

// PollerOptions tune the poller.
type PollerOptions struct {
	LogLines     int           // log lines kept per server; default 200
	QueryTimeout time.Duration // per server and poll; default 1s
	ControlEvery time.Duration // re-run pg_controldata of a down server at most this often; default 2s
	// Topology is the servers to read, in order, with the upstreams the
	// playbook declares; nil reads the seed's primary and replica.
	Topology cluster.Topology
}

// reacher is a Source that says how the servers reach each other (a
// cluster.Backend does): what tells which node a standby follows.
type reacher interface {
	Paths(node cluster.Node) cluster.ServerPaths
}

// Poller reads every server of its topology. Poll may be called from any goroutine, one
// call at a time is typical; calls are serialised.
type Poller struct {
	src  Source
	opts PollerOptions

	// turn is held by the poll in flight: a mutex that a caller can stop
	// waiting for, so that neither a later Poll nor Close waits on a poll
	// that is stuck beyond its context.
	turn  chan struct{}
	seq   uint64
	nodes map[cluster.Node]*nodeState
}

// closeWait bounds how long Close waits for a poll in flight.
const closeWait = 2 * time.Second

type nodeState struct {
	conn        *pgx.Conn
	connStr     string
	lastGood    time.Time
	control     *ControlData
	controlAt   time.Time
	controlProc cluster.ProcState
	// controlStamp identifies the global/pg_control the cached reading
	// came from (see controlStamp); "" when it could not be told.
	controlStamp string
	// hist holds history files read through SQL: on Docker, the archive
	// and pg_wal copies are the container user's 0600 files, which a
	// non-root walstep cannot read on the host. A history file never
	// changes, but a lab reset or a new initdb or backup fetch replaces the
	// data dir, so they are kept for one cluster only: histID is its
	// database system identifier.
	hist   map[uint32]string
	histID string
}

// NewPoller makes a poller for src.
func NewPoller(src Source, opts PollerOptions) *Poller {
	if opts.LogLines == 0 {
		opts.LogLines = 200
	}
	if opts.QueryTimeout == 0 {
		opts.QueryTimeout = time.Second
	}
	if opts.ControlEvery == 0 {
		opts.ControlEvery = 2 * time.Second
	}
	if len(opts.Topology) == 0 {
		opts.Topology = cluster.SeedTopology()
	}
	p := &Poller{src: src, opts: opts, turn: make(chan struct{}, 1), nodes: map[cluster.Node]*nodeState{}}
	for _, n := range opts.Topology.Nodes() {
		p.nodes[n] = &nodeState{}
	}
	return p
}

// addrs is each node's host:port as the other servers reach it, when the
// source can say.
func (p *Poller) addrs() map[string]string {
	rc, ok := p.src.(reacher)
	if !ok {
		return nil
	}
	out := map[string]string{}
	for _, n := range p.opts.Topology.Nodes() {
		if sp := rc.Paths(n); sp.Host != "" && sp.Port != "" {
			out[string(n)] = net.JoinHostPort(sp.Host, sp.Port)
		}
	}
	return out
}

// newSnapshot is a snapshot with a reading per node, in order, each
// carrying its declared upstream.
func (p *Poller) newSnapshot(at time.Time, read func(cluster.Node) Reading) Snapshot {
	s := Snapshot{At: at, Nodes: make([]Reading, len(p.opts.Topology))}
	for i, n := range p.opts.Topology {
		s.Nodes[i] = read(n.Name)
		s.Nodes[i].Upstream = string(n.Upstream)
	}
	return s
}

// Close closes the poller's connections. It waits at most closeWait for
// a poll in flight: a poll closes its connections as it ends anyway, and
// shutting down must not wait on a read that is stuck.
func (p *Poller) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	if !p.lock(ctx) {
		return
	}
	defer p.unlock()
	for _, ns := range p.nodes {
		p.dropConn(ns)
	}
}

func (p *Poller) lock(ctx context.Context) bool {
	select {
	case p.turn <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (p *Poller) unlock() { <-p.turn }

// Poll reads every server concurrently, then the archive and the history
// files. It never fails: what cannot be read is reported in the Reading.
// It returns soon after ctx ends, even while an earlier poll is stuck.
func (p *Poller) Poll(ctx context.Context) Snapshot {
	if !p.lock(ctx) {
		at := time.Now()
		unread := func(n cluster.Node) Reading {
			return Reading{Node: string(n), At: at, Process: ProcUnknown, Role: RoleUnknown, Err: "not read: an earlier reading had not ended"}
		}
		return p.newSnapshot(at, unread)
	}
	defer p.unlock()
	p.seq++
	at := time.Now()
	read := make(map[cluster.Node]Reading, len(p.nodes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range p.opts.Topology.Nodes() {
		wg.Add(1)
		go func() { // joined below, before Poll returns
			defer wg.Done()
			r := p.readNode(ctx, n)
			mu.Lock()
			read[n] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	s := p.newSnapshot(at, func(n cluster.Node) Reading { return read[n] })
	s.Seq = p.seq
	s.resolveUpstreams(p.addrs())
	s.confirmStreaming()
	s.Archive = ListArchive(ctx, p.src)
	s.Histories = p.histories(ctx)
	return s
}

func (p *Poller) readNode(ctx context.Context, node cluster.Node) Reading {
	ns := p.nodes[node]
	r := Reading{Node: string(node), At: time.Now()}
	st, err := p.src.State(ctx, node)
	if err != nil {
		// The backend cannot tell (a Docker engine that went away): say
		// so rather than guess "stopped".
		r.Err = untrusted.Shown(err.Error())
		r.Process = ProcUnknown
		r.Role = RoleUnknown
		r.LastGood = ns.lastGood
		p.dropConn(ns)
		return r
	}
	r.ProcDetail = st.Detail
	if tail, err := p.src.LogTail(ctx, node, p.opts.LogLines); err == nil {
		r.LogTail = tail
	}
	var pm cluster.PostmasterFile
	if st.Running {
		pm, _ = p.src.Postmaster(ctx, node)
	}
	if st.Running && !pm.Accepting() {
		// Starting or stopping, by its postmaster.pid: a connection now
		// would only leave "the database system is starting up" in the
		// log the user is reading.
		r.Process = ProcStarting
		if pm.Status == cluster.PMStopping {
			r.Process = ProcStopping
		}
		p.dropConn(ns)
	} else if st.Running {
		qctx, cancel := context.WithTimeout(ctx, p.opts.QueryTimeout)
		reused := ns.conn != nil
		err := p.query(qctx, node, ns, &r)
		if err != nil && reused && qctx.Err() == nil {
			// The kept connection may belong to a server that restarted
			// since: retry once on a fresh one before calling it down.
			p.dropConn(ns)
			r = Reading{Node: r.Node, At: r.At, ProcDetail: r.ProcDetail, LogTail: r.LogTail}
			err = p.query(qctx, node, ns, &r)
		}
		cancel()
		// A connection kept between polls is still open when a step stops
		// the server, and the shutdown then logs "FATAL: terminating
		// connection due to administrator command" for it: a line walstep
		// caused in the log the user reads. A closed one leaves nothing.
		p.dropConn(ns)
		if err == nil {
			r.Up = true
			r.Process = ProcUp
			ns.lastGood = r.At
		} else {
			r.Process = ProcStarting
			r.Err = untrusted.Shown(shortErr(err))
			p.dropConn(ns)
		}
	} else {
		p.dropConn(ns)
		switch {
		case !st.Exists:
			r.Process = ProcNone
			if _, err := p.src.ReadFile(ctx, node, cluster.AreaData, "global/pg_control"); err == nil {
				r.Process = ProcStopped
			}
		case st.ExitCode == 0 && !strings.HasPrefix(st.Detail, "killed"):
			r.Process = ProcStopped
		default:
			r.Process = ProcCrashed
		}
	}
	r.LastGood = ns.lastGood
	if !r.Up {
		p.readControl(ctx, node, ns, st, &r)
	}
	p.classify(ctx, node, &r)
	return r
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i > 0 && len(s) > 120 {
		s = s[i+2:]
	}
	return s
}

func (p *Poller) dropConn(ns *nodeState) {
	if ns.conn != nil {
		cluster.Disconnect(ns.conn)
		ns.conn = nil
	}
}

// histories gathers timeline history files from the archive and from both
// data dirs' pg_wal (uncompressed ones; WAL-G's .lz4 copies are skipped).
func (p *Poller) histories(ctx context.Context) []History {
	seen := map[uint32]History{}
	type dir struct {
		node cluster.Node
		area cluster.FileArea
		name string
	}
	nodes := p.opts.Topology.Nodes()
	dirs := []dir{{nodes[0], cluster.AreaStorage, cluster.WALDir}}
	for _, n := range nodes {
		dirs = append(dirs, dir{n, cluster.AreaData, "pg_wal"})
	}
	for _, d := range dirs {
		ents, err := p.src.ReadDir(ctx, d.node, d.area, d.name)
		if err != nil {
			continue
		}
		for _, e := range ents {
			tli, ok := ParseHistoryFileName(e.Name)
			if !ok || strings.HasSuffix(e.Name, ".lz4") {
				continue
			}
			if _, dup := seen[tli]; dup {
				continue
			}
			b, err := p.src.ReadFile(ctx, d.node, d.area, d.name+"/"+e.Name)
			if err != nil {
				continue
			}
			if h, err := ParseHistory(tli, string(b)); err == nil {
				seen[tli] = h
			}
		}
	}
	for _, n := range nodes {
		for tli, content := range p.nodes[n].hist {
			if _, dup := seen[tli]; dup {
				continue
			}
			if h, err := ParseHistory(tli, content); err == nil {
				seen[tli] = h
			}
		}
	}
	out := make([]History, 0, len(seen))
	for _, h := range seen {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TLI < out[j].TLI })
	return out
}

// ArchiveReader lists the archive: the part of a backend ListArchive needs.
type ArchiveReader interface {
	ReadDir(ctx context.Context, node cluster.Node, area cluster.FileArea, name string) ([]cluster.FileInfo, error)
}

// ListArchive reads the archive's layout (WAL-G's, used by both
// archivers) through the backend: WAL files per timeline, history files,
// backups.
func ListArchive(ctx context.Context, src ArchiveReader) Archive {
	var a Archive
	ents, _ := src.ReadDir(ctx, cluster.Primary, cluster.AreaStorage, cluster.WALDir)
	for _, e := range ents {
		name := strings.TrimSuffix(e.Name, ".lz4")
		f := ArchiveFile{Name: name, Size: e.Size}
		if tli, ok := ParseHistoryFileName(name); ok {
			f.TLI, f.History = tli, true
		} else if tli, start, ok := ParseWALFileName(name); ok {
			f.TLI, f.Start = tli, start
			f.Partial = strings.HasSuffix(name, ".partial")
			f.Backup = strings.HasSuffix(name, ".backup")
		} else {
			continue
		}
		a.WAL = append(a.WAL, f)
	}
	sort.Slice(a.WAL, func(i, j int) bool { return a.WAL[i].Name < a.WAL[j].Name })
	bents, _ := src.ReadDir(ctx, cluster.Primary, cluster.AreaStorage, cluster.BackupsDir)
	seen := map[string]bool{}
	for _, e := range bents {
		name := e.Name
		if !strings.HasPrefix(name, "base_") {
			continue
		}
		name = strings.TrimSuffix(name, "_backup_stop_sentinel.json")
		if strings.HasSuffix(name, ".json") || seen[name] {
			continue
		}
		seen[name] = true
		a.Backups = append(a.Backups, untrusted.Text(name)) // a name in a dir the server user writes
	}
	sort.Strings(a.Backups)
	return a
}
