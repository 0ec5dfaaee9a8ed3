package pg

import (
	"encoding/json"
	"time"
)

// Process is what a server's process or container is doing.
type Process string

// Process states shown in the panel.
const (
	ProcUp       Process = "up"          // SQL answers
	ProcStarting Process = "starting"    // process runs, SQL does not answer yet
	ProcStopping Process = "stopping"    // process runs, shutting down
	ProcStopped  Process = "stopped"     // exited cleanly, or never started
	ProcCrashed  Process = "crashed"     // exited with an error or a signal
	ProcNone     Process = "not created" // no process or container yet
	ProcUnknown  Process = "unknown"     // the backend cannot say (engine gone)
)

// Role is what a server is to the repro, as far as a poll can tell.
type Role string

// Roles shown in the panel.
const (
	RolePrimary         Role = "primary"
	RoleArchiveRecovery Role = "archive recovery"
	RoleStreaming       Role = "streaming standby"
	RolePaused          Role = "paused"
	RoleShutInRecovery  Role = "shut down in recovery"
	RoleShutDown        Role = "shut down"
	RoleStandbyNoStream Role = "standby (not streaming)"
	RoleUnknown         Role = "unknown"
)

// Timeline sources, best first.
const (
	SrcCurrentWAL   = "current WAL file"
	SrcReceiver     = "wal receiver"
	SrcReplayedFile = "WAL file of the replay position"
	SrcRestored     = "newest WAL file in pg_wal"
	SrcCheckpoint   = "checkpoint"
	SrcControl      = "pg_controldata"
)

// WalReceiver is pg_stat_wal_receiver's row.
type WalReceiver struct {
	Status      string `json:"status"`
	ReceivedTLI uint32 `json:"received_tli"`
	FlushedLSN  LSN    `json:"flushed_lsn"`
	LatestEnd   LSN    `json:"latest_end_lsn"`
	SenderHost  string `json:"sender_host"`
	SenderPort  int    `json:"sender_port"`
	SlotName    string `json:"slot_name"`
	StartLSN    LSN    `json:"receive_start_lsn,omitempty"`
	StartTLI    uint32 `json:"receive_start_tli,omitempty"`
	WrittenLSN  LSN    `json:"written_lsn,omitempty"` // reset when a receiver starts; set once WAL arrives
	// Streaming is set only with proof (Proof says which): a status of
	// "streaming" alone is not.
	Streaming bool   `json:"streaming"`
	Proof     string `json:"streaming_proof,omitempty"`
}

// Slot is a replication slot on a server.
type Slot struct {
	Name       string `json:"name"`
	Active     bool   `json:"active"`
	RestartLSN LSN    `json:"restart_lsn"`
	ActivePID  int    `json:"active_pid,omitempty"` // the walsender holding it
}

// Reading is one poll of one server.
type Reading struct {
	Node       string       `json:"node"`
	At         time.Time    `json:"at"`
	LastGood   time.Time    `json:"last_good,omitempty"` // last time SQL answered
	Process    Process      `json:"process"`
	ProcDetail string       `json:"process_detail,omitempty"`
	Up         bool         `json:"up"`
	Err        string       `json:"error,omitempty"`
	InRecovery bool         `json:"in_recovery"`
	Paused     bool         `json:"paused,omitempty"`
	Role       Role         `json:"role"`
	Timeline   uint32       `json:"timeline"`
	TLISource  string       `json:"timeline_source,omitempty"`
	ReplayLSN  LSN          `json:"replay_lsn"`
	ReceiveLSN LSN          `json:"receive_lsn"`
	FlushLSN   LSN          `json:"flush_lsn"` // a primary's current flush position
	Receiver   *WalReceiver `json:"wal_receiver,omitempty"`
	Slots      []Slot       `json:"slots,omitempty"`
	WalSenders []WalSender  `json:"wal_senders,omitempty"` // a primary's pg_stat_replication
	Control    *ControlData `json:"controldata,omitempty"`
	LogTail    []string     `json:"log_tail,omitempty"`
	// Upstream is the node the playbook says this one follows ("" for a
	// primary); Follows is the node it is found to follow and FollowsFrom
	// how that was told (see Snapshot.resolveUpstreams).
	Upstream    string `json:"upstream,omitempty"`
	Follows     string `json:"follows,omitempty"`
	FollowsFrom string `json:"follows_from,omitempty"`
	// ConnHost and ConnPort are the host and port of a standby's
	// primary_conninfo (nothing else of it is kept: it may hold a
	// password).
	ConnHost string `json:"conninfo_host,omitempty"`
	ConnPort string `json:"conninfo_port,omitempty"`
}

// Position is the server's most telling WAL position: flush for a primary,
// replay for a standby, the minimum recovery point (or checkpoint) when down.
func (r Reading) Position() LSN {
	switch {
	case r.Up && !r.InRecovery:
		return r.FlushLSN
	case r.Up:
		return r.ReplayLSN
	case r.Control != nil && r.Control.MinRecoveryPoint.Valid():
		return r.Control.MinRecoveryPoint
	case r.Control != nil:
		return r.Control.CheckpointLSN
	}
	return InvalidLSN
}

// ArchiveFile is one file in the archive's WAL directory.
type ArchiveFile struct {
	Name    string `json:"name"`
	TLI     uint32 `json:"tli"`
	Start   LSN    `json:"start,omitempty"`
	Size    int64  `json:"size"`
	History bool   `json:"history,omitempty"`
	Partial bool   `json:"partial,omitempty"`
	Backup  bool   `json:"backup_label,omitempty"`
}

// Archive is what the lab's storage holds.
type Archive struct {
	WAL     []ArchiveFile `json:"wal"`
	Backups []string      `json:"backups"`
}

// Snapshot is one poll of every server (in the playbook's order) plus the
// archive and the timeline history files.
type Snapshot struct {
	Seq       uint64    `json:"seq"`
	At        time.Time `json:"at"`
	Nodes     []Reading `json:"nodes"`
	Archive   Archive   `json:"archive"`
	Histories []History `json:"histories"`
}

// Node is the reading of the node named name; a reading of nothing (no
// process known) when the snapshot has none.
func (s Snapshot) Node(name string) Reading {
	for _, r := range s.Nodes {
		if r.Node == name {
			return r
		}
	}
	return Reading{Node: name}
}

// Nth is the i-th node's reading, a reading of nothing past the end: the
// front ends that draw two servers draw the first two.
func (s Snapshot) Nth(i int) Reading {
	if i >= 0 && i < len(s.Nodes) {
		return s.Nodes[i]
	}
	return Reading{}
}

// ref is the node's reading to change in place, nil when absent.
func (s *Snapshot) ref(name string) *Reading {
	for i := range s.Nodes {
		if s.Nodes[i].Node == name {
			return &s.Nodes[i]
		}
	}
	return nil
}

// SeedNodes is the seed's two readings as a snapshot's Nodes: named
// primary and replica where a reading has no name, the replica following
// the primary.
func SeedNodes(primary, replica Reading) []Reading {
	if primary.Node == "" {
		primary.Node = "primary"
	}
	if replica.Node == "" {
		replica.Node = "replica"
	}
	if replica.Upstream == "" {
		replica.Upstream = primary.Node
	}
	return []Reading{primary, replica}
}

// UnmarshalJSON reads a snapshot, also as walstep wrote it when it ran
// only the seed's two servers ("primary" and "replica" objects instead of
// "nodes"), so recorded polls still read.
func (s *Snapshot) UnmarshalJSON(b []byte) error {
	type plain Snapshot
	var v struct {
		plain
		Primary *Reading `json:"primary"`
		Replica *Reading `json:"replica"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Snapshot(v.plain)
	if s.Nodes == nil && (v.Primary != nil || v.Replica != nil) {
		var p, r Reading
		if v.Primary != nil {
			p = *v.Primary
		}
		if v.Replica != nil {
			r = *v.Replica
		}
		s.Nodes = SeedNodes(p, r)
	}
	return nil
}
