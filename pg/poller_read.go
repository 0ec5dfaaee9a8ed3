package pg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"walstep/cluster"
	"walstep/untrusted"
)

// pauseStateSQL is the recovery pause state as pg_get_wal_replay_pause_state()
// words it; PostgreSQL before 14 lacks that function (a query naming it
// fails and leaves an ERROR in the user's log), so it is derived from
// pg_is_wal_replay_paused() there.
func pauseStateSQL(serverVersion string) string {
	major, _ := strconv.Atoi(strings.SplitN(strings.TrimSpace(serverVersion), ".", 2)[0])
	if major > 0 && major < 14 {
		return "case when pg_is_wal_replay_paused() then 'paused' else 'not paused' end"
	}
	return "pg_get_wal_replay_pause_state()"
}

// query reads a running server over ns's connection (opened when there is
// none), in few round trips.
func (p *Poller) query(ctx context.Context, node cluster.Node, ns *nodeState, r *Reading) error {
	cs := p.src.ConnString(node)
	if ns.conn == nil || ns.conn.IsClosed() || ns.connStr != cs {
		p.dropConn(ns)
		c, err := cluster.Connect(ctx, cs)
		if err != nil {
			return err
		}
		ns.conn, ns.connStr = c, cs
	}
	c := ns.conn
	var (
		flush, replay, receive, walfile, pause, sysID, conninfo *string
		ckptTLI, segSize                                        *int64
	)
	err := c.QueryRow(ctx, `select pg_is_in_recovery(),
  case when pg_is_in_recovery() then null else pg_current_wal_flush_lsn()::text end,
  pg_last_wal_replay_lsn()::text,
  pg_last_wal_receive_lsn()::text,
  case when pg_is_in_recovery() then `+pauseStateSQL(c.PgConn().ParameterStatus("server_version"))+` end,
  (select timeline_id::bigint from pg_control_checkpoint()),
  case when pg_is_in_recovery() then null else pg_walfile_name(pg_current_wal_lsn()) end,
  (select system_identifier::text from pg_control_system()),
  (select setting::bigint from pg_settings where name = 'wal_segment_size'),
  case when pg_is_in_recovery() then current_setting('primary_conninfo', true) end`).
		Scan(&r.InRecovery, &flush, &replay, &receive, &pause, &ckptTLI, &walfile, &sysID, &segSize, &conninfo)
	if err != nil {
		return fmt.Errorf("query status: %w", err)
	}
	lsn := func(s *string) LSN {
		if s == nil {
			return 0
		}
		l, _ := ParseLSN(*s)
		return l
	}
	r.FlushLSN, r.ReplayLSN, r.ReceiveLSN = lsn(flush), lsn(replay), lsn(receive)
	r.Paused = pause != nil && *pause != "not paused"
	if conninfo != nil {
		h, p := conninfoHostPort(*conninfo)
		r.ConnHost, r.ConnPort = untrusted.Text(h), untrusted.Text(p)
	}
	if walfile != nil {
		if t, _, ok := ParseWALFileName(*walfile); ok {
			r.Timeline, r.TLISource = t, SrcCurrentWAL
		}
	}
	wal, walFromFiles, err := p.walDir(ctx, c, node)
	if err != nil {
		return err
	}
	if r.InRecovery {
		// The receiver's timeline is the one it asks for: it counts only
		// once streaming is confirmed (Snapshot.confirmStreaming).
		wr, err := readReceiver(ctx, c)
		if err != nil {
			return err
		}
		r.Receiver = wr
		if r.Timeline == 0 && segSize != nil {
			if t, ok := replayedFileTLI(wal, r.ReplayLSN, *segSize); ok {
				r.Timeline, r.TLISource = t, SrcReplayedFile
			}
		}
		if r.Timeline == 0 {
			if t, _, ok := ParseWALFileName(newestSegment(wal)); ok {
				r.Timeline, r.TLISource = t, SrcRestored
			}
		}
	}
	if r.Timeline == 0 && ckptTLI != nil {
		r.Timeline, r.TLISource = uint32(*ckptTLI), SrcCheckpoint
	}
	// A standby has walsenders too when another standby follows it.
	if r.WalSenders, err = readWalSenders(ctx, c); err != nil {
		return err
	}
	if sysID != nil {
		ns.keepHistoriesOf(*sysID)
	}
	p.readHistories(ctx, c, node, ns, wal, walFromFiles)
	rows, err := c.Query(ctx, `select slot_name::text, active, restart_lsn::text, coalesce(active_pid, 0) from pg_replication_slots order by 1`)
	if err != nil {
		return fmt.Errorf("query slots: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s Slot
		var rl *string
		var pid int32
		if err := rows.Scan(&s.Name, &s.Active, &rl, &pid); err != nil {
			return fmt.Errorf("scan slot: %w", err)
		}
		s.RestartLSN, s.ActivePID = lsn(rl), int(pid)
		r.Slots = append(r.Slots, s)
	}
	return rows.Err()
}

// replayedFileTLI is the timeline of the WAL file in pg_wal that holds
// the last record replayed, when one timeline alone has that segment
// there: newer files restore_command fetched (a new timeline's segment
// that does not continue what was replayed, say) do not say what was
// replayed.
func replayedFileTLI(wal []walFile, replay LSN, segSize int64) (uint32, bool) {
	if !replay.Valid() || segSize <= 0 || segSize > 1<<32 {
		return 0, false
	}
	seg := (uint64(replay) - 1) / uint64(segSize)
	perID := uint64(1<<32) / uint64(segSize)
	suffix := fmt.Sprintf("%08X%08X", seg/perID, seg%perID)
	var names []string
	for _, f := range wal {
		if _, _, ok := ParseWALFileName(f.name); ok && len(f.name) == 24 && f.name[8:] == suffix {
			names = append(names, f.name)
		}
	}
	if len(names) == 0 {
		return 0, false
	}
	tlis := map[uint32]bool{}
	var tli uint32
	for _, n := range names {
		if t, _, ok := ParseWALFileName(n); ok {
			tlis[t], tli = true, t
		}
	}
	return tli, len(tlis) == 1
}

// maxHistorySQL bounds a history file read through SQL: the server user
// may have made one endless (a link to /dev/zero).
const maxHistorySQL = int64(cluster.MaxServerFile)

// readHistories reads the server's timeline history files, once each:
// through the backend's capped, link-refusing reads when pg_wal was
// listed that way, else through SQL.
func (p *Poller) readHistories(ctx context.Context, c *pgx.Conn, node cluster.Node, ns *nodeState, wal []walFile, fromFiles bool) {
	var names []string
	for _, f := range wal {
		if _, ok := ParseHistoryFileName(f.name); ok {
			names = append(names, f.name)
		}
	}
	listed := map[uint32]bool{}
	for _, name := range names {
		if tli, ok := ParseHistoryFileName(name); ok {
			listed[tli] = true
		}
	}
	for tli := range ns.hist {
		if !listed[tli] {
			delete(ns.hist, tli)
		}
	}
	for _, name := range names {
		tli, ok := ParseHistoryFileName(name)
		if _, have := ns.hist[tli]; !ok || have {
			continue
		}
		if fromFiles {
			b, err := p.src.ReadFile(ctx, node, cluster.AreaData, "pg_wal/"+name)
			if err != nil {
				continue // not a regular file, or removed since the listing
			}
			if ns.hist == nil {
				ns.hist = map[uint32]string{}
			}
			ns.hist[tli] = string(b)
			continue
		}
		var content string
		if err := c.QueryRow(ctx, `select pg_read_file('pg_wal/' || $1, 0, $2)`, name, maxHistorySQL).Scan(&content); err != nil {
			continue // removed since the listing; next poll
		}
		if ns.hist == nil {
			ns.hist = map[uint32]string{}
		}
		ns.hist[tli] = content
	}
}

// readControl runs pg_controldata for a server that does not answer,
// cached because on Docker it costs a short-lived container.
func (p *Poller) readControl(ctx context.Context, node cluster.Node, ns *nodeState, st cluster.ProcState, r *Reading) {
	if _, err := p.src.ReadDir(ctx, node, cluster.AreaData, ""); errors.Is(err, fs.ErrNotExist) {
		ns.hist, ns.histID = nil, "" // the data dir is gone (a lab reset)
		return
	}
	// pg_controldata reads global/pg_control alone: when that file can be
	// stamped, the cache is as fresh as the file (a server started and
	// stopped by hand between two polls changes it and nothing else
	// walstep sees); otherwise it is kept a while per process state.
	stamp := p.controlStamp(ctx, node)
	stale := ns.control == nil || stamp != ns.controlStamp
	if stamp == "" {
		stale = stale || ns.controlProc != st || time.Since(ns.controlAt) > p.opts.ControlEvery
	}
	if stale {
		out, err := p.src.ControlData(ctx, node)
		ns.controlAt, ns.controlProc, ns.controlStamp = time.Now(), st, stamp
		if err != nil {
			ns.control = nil
			return
		}
		cd := ParseControlData(out)
		ns.control = &cd
	}
	if ns.control != nil {
		if id := ns.control.Raw["Database system identifier"]; id != "" {
			ns.keepHistoriesOf(id)
		}
		cd := *ns.control
		r.Control = &cd
		r.Timeline, r.TLISource = cd.CheckpointTLI, SrcControl
		if cd.MinRecoveryTLI > 0 {
			r.Timeline = cd.MinRecoveryTLI
		}
	}
}

// controlStamp identifies the contents of node's global/pg_control, read
// through the backend: a digest of the file, else its size and times from
// the directory listing (a user who may not read it may list it); "" when
// neither can be had.
func (p *Poller) controlStamp(ctx context.Context, node cluster.Node) string {
	if b, err := p.src.ReadFile(ctx, node, cluster.AreaData, "global/pg_control"); err == nil {
		sum := sha256.Sum256(b)
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	ents, err := p.src.ReadDir(ctx, node, cluster.AreaData, "global")
	if err != nil {
		return ""
	}
	for _, e := range ents {
		if e.Name == "pg_control" {
			return fmt.Sprintf("stat:%d:%d", e.Size, e.ModTime.UnixNano())
		}
	}
	return ""
}

// keepHistoriesOf drops the histories read through SQL unless they were
// read from the cluster with system identifier id.
func (ns *nodeState) keepHistoriesOf(id string) {
	if ns.histID != id {
		ns.hist, ns.histID = nil, id
	}
}

// classify sets Role from one server's reading; a standby is called
// streaming later, with the primary's side (Snapshot.confirmStreaming).
func (p *Poller) classify(ctx context.Context, node cluster.Node, r *Reading) {
	// Listed, not opened: the server takes the signal file's existence
	// alone (a FIFO put there counts for it), and opening one could block.
	exists := func(name string) bool {
		ents, _ := p.src.ReadDir(ctx, node, cluster.AreaData, "")
		for _, e := range ents {
			if e.Name == name {
				return true
			}
		}
		return false
	}
	switch {
	case r.Up && !r.InRecovery:
		r.Role = RolePrimary
	case r.Up && r.Paused:
		r.Role = RolePaused
	case r.Up && (r.Receiver != nil || exists("standby.signal")):
		// Streaming only once the snapshot confirms it.
		r.Role = RoleStandbyNoStream
	case r.Up:
		r.Role = RoleArchiveRecovery
	case r.Control != nil && r.Control.State == "shut down in recovery":
		r.Role = RoleShutInRecovery
	case r.Control != nil && r.Control.State == "shut down":
		r.Role = RoleShutDown
	default:
		r.Role = RoleUnknown
	}
}
