package pg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"walstep/cluster"
)

// WALEnv is what reading WAL needs from a backend; cluster.Backend has it.
// pg_waldump runs in the node's own environment (its container on Docker,
// the --pg-bin binaries locally), so it is the server's version, and as
// the server user: pg_wal and the archive are that user's, so whatever it
// planted there (a link swapped in at any moment) is opened with its own
// rights only. A WALEnv that is a cluster.ServerScratch stages there.
type WALEnv interface {
	Paths(node cluster.Node) cluster.ServerPaths
	Exec(ctx context.Context, node cluster.Node, user string, argv []string, out io.Writer) error
	ConnString(node cluster.Node) string
}

// WALOptions tune ReadWALAtFork.
type WALOptions struct {
	// TempDir is where segments are staged in the node's environment
	// (links to plain files, WAL-G fetches of compressed ones) when the
	// WALEnv has no cluster.ServerScratch of its own; "" is /tmp there (a
	// container's). It must let the server user make a directory in it;
	// the staging directory is removed afterwards.
	TempDir     string
	MaxRecords  int           // records read past the fork at most; default 20000
	MaxSegments int           // segments read past the fork at most; default 8
	NewRecords  int           // first records of the new timeline shown; default 12
	Timeout     time.Duration // per pg_waldump run; default 60s
	// Names resolves relation files to names on the primary; nil uses
	// ResolveRelations on the primary's connection string.
	Names func(ctx context.Context, rels []RelFile) (map[RelFile]string, error)
}

func (o *WALOptions) defaults() {
	if o.MaxRecords <= 0 {
		o.MaxRecords = 20000
	}
	if o.MaxSegments <= 0 {
		o.MaxSegments = 8
	}
	if o.NewRecords <= 0 {
		o.NewRecords = 12
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
}

// ReadWALAtFork reads, with pg_waldump, the WAL at the fork of the timeline
// the replica must follow (see WALAtFork), for the fork d found in s. It
// never fails: what cannot be read is said in the result, in one line.
func ReadWALAtFork(ctx context.Context, env WALEnv, s Snapshot, d Diagnosis, opts WALOptions) *WALAtFork {
	opts.defaults()
	t0 := time.Now()
	w := &WALAtFork{ForkLSN: d.ForkLSN, ReplicaLSN: d.ReplicaLSN, Wrote: d.WrotePastFork}
	defer func() { w.ReadMS = time.Since(t0).Milliseconds() }()
	w.Records = []WALRecord{}
	w.NewTimeline.Records = []WALRecord{}
	if !d.ForkLSN.Valid() || d.ForkParent == 0 || d.ForkTimeline == 0 {
		w.Note = "no fork yet: no history file shows a timeline forking off another"
		return w
	}
	if h, ok := historyOf(s.Histories, d.ForkTimeline); ok {
		for _, e := range h.Entries {
			if e.TLI == d.ForkParent {
				w.Reason = e.Reason
			}
		}
	}
	upNode, sbNode := d.pairNodes()
	w.Standby, w.Upstream = d.Standby, d.Upstream
	P, R := s.Node(string(upNode)), s.Node(string(sbNode))
	names := opts.Names
	if names == nil && P.Up {
		conn := env.ConnString(upNode)
		names = func(ctx context.Context, rels []RelFile) (map[RelFile]string, error) {
			return ResolveRelations(ctx, conn, rels)
		}
	}

	// The old timeline, from the fork to the replica's position.
	w.Timeline, w.From = d.ForkParent, d.ForkLSN
	rPos := d.ReplicaLSN
	if r := R; r.ReceiveLSN > rPos && d.ReplicaTimeline == d.ForkParent && r.Streams() && r.Receiver.ReceivedTLI == d.ForkParent {
		rPos = r.ReceiveLSN
	}
	w.ReplicaLSN = rPos
	if !rPos.Valid() || rPos <= d.ForkLSN || !onOldTimeline(P, d, rPos) {
		w.Note = fmt.Sprintf("%s has not replayed timeline %d past the fork %s", w.StandbyNoun(), d.ForkParent, d.ForkLSN)
		if rPos.Valid() && d.ReplicaTimeline != 0 {
			w.Note += fmt.Sprintf(" (it is at %s on timeline %d)", rPos, d.ReplicaTimeline)
		}
	} else {
		w.To = rPos
		first, last := d.ForkLSN.Segment(), (rPos - 1).Segment()
		if n := last - first + 1; n > uint64(opts.MaxSegments) {
			last = first + uint64(opts.MaxSegments) - 1
			w.To = LSN((last + 1) * WALSegSize)
			w.Capped = fmt.Sprintf("range too large: read %d of its %d segments, up to %s; the rest up to %s is not shown", opts.MaxSegments, n, w.To, rPos)
		}
		args := []string{"-t", strconv.FormatUint(uint64(w.Timeline), 10), "-s", w.From.String(), "-e", w.To.String(), "-n", strconv.Itoa(opts.MaxRecords + 1)}
		out := runWALDump(ctx, env, sbNode, opts, w.Timeline, first, last, args)
		recs := out.Records
		if len(recs) > opts.MaxRecords {
			recs = recs[:opts.MaxRecords]
			w.Capped = fmt.Sprintf("range too large: read the first %d records, up to %s; the rest up to %s is not shown", opts.MaxRecords, recs[len(recs)-1].LSN, rPos)
		}
		nameRecords(ctx, names, recs)
		w.setRecords(recs)
		w.Source, w.Err = out.source, out.Err
	}

	// The new timeline's first records after the fork.
	nt := &w.NewTimeline
	nt.Timeline, nt.From = d.ForkTimeline, d.ForkLSN
	first := d.ForkLSN.Segment()
	last := first
	if pPos, pTLI := PositionOf(P); pTLI == d.ForkTimeline && pPos.Valid() && pPos.Segment() > first {
		last = first + 1
	}
	args := []string{"-t", strconv.FormatUint(uint64(nt.Timeline), 10), "-s", nt.From.String(), "-n", strconv.Itoa(opts.NewRecords)}
	out := runWALDump(ctx, env, upNode, opts, nt.Timeline, first, last, args)
	nameRecords(ctx, names, out.Records)
	nt.setRecords(out.Records)
	nt.Source, nt.Err = out.source, out.Err
	w.Sentence = w.describeSentence()
	return w
}

// onOldTimeline reports whether the replica's WAL between the fork and
// rPos is the old timeline's: it says it is on that timeline, or it names
// the new one (a wal receiver that asked for it a moment ago) at a
// position the primary has not written on the new timeline, so what it
// replayed past the fork cannot have come from there.
func onOldTimeline(P Reading, d Diagnosis, rPos LSN) bool {
	if d.ReplicaTimeline == d.ForkParent {
		return true
	}
	pPos, pTLI := PositionOf(P)
	return d.ReplicaTimeline == d.ForkTimeline && pTLI == d.ForkTimeline && P.Up && pPos.Valid() && rPos > pPos
}

// pairNodes are the nodes d judged: the upstream, whose new timeline is
// read, and the standby, whose WAL past the fork is; the seed's when d
// does not say (a diagnosis from before it did).
func (d Diagnosis) pairNodes() (up, sb cluster.Node) {
	up, sb = cluster.Primary, cluster.Replica
	if d.Upstream != "" {
		up = cluster.Node(d.Upstream)
	}
	if d.Standby != "" {
		sb = cluster.Node(d.Standby)
	}
	return up, sb
}

// nameRecords fills each record's Relations from names (best effort).
func nameRecords(ctx context.Context, names func(context.Context, []RelFile) (map[RelFile]string, error), recs []WALRecord) {
	if names == nil {
		return
	}
	var rels []RelFile
	for _, r := range recs {
		for _, rf := range r.Rels {
			if !containsRel(rels, rf) {
				rels = append(rels, rf)
			}
		}
	}
	if len(rels) == 0 {
		return
	}
	nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m, _ := names(nctx, rels)
	for i := range recs {
		recs[i].Relations = nil
		for _, rf := range recs[i].Rels {
			if n, ok := m[rf]; ok {
				recs[i].Relations = append(recs[i].Relations, n)
			} else {
				recs[i].Relations = append(recs[i].Relations, "rel "+rf.String())
			}
		}
	}
}

// stageScript links (or, compressed, fetches with WAL-G) the segments into
// a fresh directory, the archive's copy first (what recovery read), else
// the server's pg_wal, runs pg_waldump on it and removes it. Its own lines
// start with "walstep-"; pg_waldump's errors come after its records
// (stderr is kept apart, so the two never interleave mid-line).
const stageScript = `base=$1 arch=$2 pgwal=$3 walg=$4 cfg=$5 n=$6
shift 6
tmp=$(mktemp -d "$base/walstep-waldump.XXXXXX") || { echo "walstep-fail cannot make a staging directory in $base"; exit 0; }
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
# This runs as the server user, whose the archive and pg_wal are: a link
# there is opened with its rights only, whenever it is swapped in. Links
# are still left out (a segment is a plain file), as they always were.
[ -h "$arch" ] && arch=/nonexistent
[ -h "$pgwal" ] && pgwal=/nonexistent
plain() { [ -f "$1" ] && ! [ -h "$1" ] && [ -r "$1" ]; }
compressed() { for x in lz4 zst br lzma; do plain "$arch/$1.$x" && return 0; done; return 1; }
stop=
while [ "$n" -gt 0 ]; do
  s=${1%%=*} at=${1#*=}; shift; n=$((n-1))
  if [ -n "$stop" ]; then continue; fi
  if plain "$arch/$s"; then
    ln -s "$arch/$s" "$tmp/$s" && echo "walstep-src $s the archive"
  elif compressed "$s" && [ -n "$walg" ] && [ -x "$walg" ] &&
    HOME=$tmp WALG_DOWNLOAD_CONCURRENCY=1 "$walg" --config "$cfg" wal-fetch "$s" "$tmp/$s" >"$tmp/.walg" 2>&1; then
    echo "walstep-src $s the archive (wal-g wal-fetch)"
  elif plain "$pgwal/$s"; then
    ln -s "$pgwal/$s" "$tmp/$s" && echo "walstep-src $s pg_wal"
  elif compressed "$s"; then
    if [ -z "$walg" ] || ! [ -x "$walg" ]; then
      echo "walstep-missing $s is compressed in the archive and no wal-g is there to fetch it"
    else
      echo "walstep-missing $s: wal-g wal-fetch failed: $(grep -v '^INFO' "$tmp/.walg" | tail -n 1)"
    fi
  elif [ -e "$arch/$s" ] || [ -e "$pgwal/$s" ]; then
    echo "walstep-missing $s is not readable"
  else
    echo "walstep-missing $s is neither in the archive nor in pg_wal"
  fi
  # Read up to the first segment missing: pg_waldump waits 5 s for a
  # file that is not there, in case it is still being written.
  [ -e "$tmp/$s" ] || stop=$at
done
if [ -n "$stop" ]; then set -- "$@" -e "$stop"; fi
if ! command -v pg_waldump >/dev/null 2>&1; then echo "walstep-fail no pg_waldump in the server's environment (locally: --pg-bin; on Docker: the image)"; exit 0; fi
pg_waldump -p "$tmp" "$@" 2>"$tmp/.err"
echo "walstep-rc $?"
sed 's/^/walstep-err /' "$tmp/.err"
`

// dumpResult is one pg_waldump run read.
type dumpResult struct {
	WALDumpOutput
	source string
}

// runWALDump runs pg_waldump in node's environment on timeline tli's
// segments first..last.
func runWALDump(ctx context.Context, env WALEnv, node cluster.Node, opts WALOptions, tli uint32, first, last uint64, args []string) dumpResult {
	p := env.Paths(node)
	base := opts.TempDir
	if ss, ok := env.(cluster.ServerScratch); ok {
		dir, err := ss.ServerScratch()
		if err != nil {
			return dumpResult{WALDumpOutput: WALDumpOutput{Err: firstLine(err.Error())}}
		}
		base = dir
	}
	if base == "" {
		base = "/tmp"
	}
	argv := []string{"sh", "-c", stageScript, "sh", base, p.Storage + "/" + cluster.WALDir, p.Data + "/pg_wal", p.WalgBin, p.WalgConfig}
	var segs []string
	for s := first; s <= last; s++ {
		at := LSN(s * WALSegSize)
		segs = append(segs, WALFileName(tli, at)+"="+at.String())
	}
	argv = append(argv, strconv.Itoa(len(segs)))
	argv = append(argv, segs...)
	argv = append(argv, args...)
	cctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	var buf bytes.Buffer
	err := env.Exec(cctx, node, "postgres", argv, &buf)
	res := readStaged(buf.String(), err, cctx.Err(), opts.Timeout)
	res.source = strings.ReplaceAll(res.source, "pg_wal", node.The()+"'s pg_wal")
	return res
}

// readStaged reads stageScript's output.
func readStaged(out string, execErr, ctxErr error, timeout time.Duration) dumpResult {
	var res dumpResult
	var dump strings.Builder
	var srcs, missing []string
	fail := ""
	ran := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "walstep-src "):
			f := strings.SplitN(strings.TrimPrefix(line, "walstep-src "), " ", 2)
			if len(f) == 2 && !contains(srcs, f[1]) {
				srcs = append(srcs, f[1])
			}
		case strings.HasPrefix(line, "walstep-missing "):
			missing = append(missing, strings.TrimPrefix(line, "walstep-missing "))
		case strings.HasPrefix(line, "walstep-fail "):
			fail = strings.TrimPrefix(line, "walstep-fail ")
		case strings.HasPrefix(line, "walstep-rc "):
			ran = true
		case strings.HasPrefix(line, "walstep-err "):
			dump.WriteString(strings.TrimPrefix(line, "walstep-err ") + "\n")
		default:
			dump.WriteString(line + "\n")
		}
	}
	res.WALDumpOutput = ParseWALDump(dump.String())
	switch {
	case fail != "":
		res.Err = fail
	case len(missing) > 0 && (res.Err == "" || strings.Contains(res.Err, "could not find file")):
		// pg_waldump stopped before it (or names the file but not why
		// it is missing).
		res.Err = "segment " + missing[0]
	}
	res.source = strings.Join(srcs, ", ")
	switch {
	case errors.Is(ctxErr, context.DeadlineExceeded):
		res.Err = fmt.Sprintf("pg_waldump did not finish within %s", timeout)
	case ctxErr != nil:
		res.Err = "cancelled"
	case execErr != nil && !ran && res.Err == "":
		res.Err = "could not run pg_waldump: " + firstLine(execErr.Error())
	}
	return res
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
