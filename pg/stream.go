package pg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"walstep/cluster"
)

// WalSender is a row of a primary's pg_stat_replication: one standby's
// connection as the primary sees it.
type WalSender struct {
	PID        int    `json:"pid"`
	State      string `json:"state"`
	AppName    string `json:"application_name,omitempty"`
	ClientAddr string `json:"client_addr,omitempty"`
	SentLSN    LSN    `json:"sent_lsn,omitempty"`
	FlushLSN   LSN    `json:"flush_lsn,omitempty"`
}

// A wal receiver's status is "streaming" from the moment its process
// starts, and received_tli is the timeline it asks for: both are set before
// the primary has accepted anything. A walsender reaches "streaming" only
// after START_REPLICATION succeeded and it caught up; the WAL a receiver has
// written (reset to nothing each time a receiver starts) exists only once
// the primary sent some. Either proves streaming; nothing weaker does.
const (
	walSendersSQL = `select pid, coalesce(state, ''), coalesce(application_name, ''), coalesce(host(client_addr), ''), sent_lsn::text, flush_lsn::text from pg_stat_replication order by pid`
	receiverSQL   = `select status, received_tli::bigint, flushed_lsn::text, latest_end_lsn::text, sender_host, sender_port, slot_name, receive_start_lsn::text, receive_start_tli::bigint, written_lsn::text from pg_stat_wal_receiver`
)

// readWalSenders reads a primary's walsenders: a plain query, which leaves
// no line in the server's log.
func readWalSenders(ctx context.Context, c *pgx.Conn) ([]WalSender, error) {
	rows, err := c.Query(ctx, walSendersSQL)
	if err != nil {
		return nil, fmt.Errorf("query walsenders: %w", err)
	}
	defer rows.Close()
	var out []WalSender
	for rows.Next() {
		var w WalSender
		var pid int32
		var sent, flush *string
		if err := rows.Scan(&pid, &w.State, &w.AppName, &w.ClientAddr, &sent, &flush); err != nil {
			return nil, fmt.Errorf("scan walsender: %w", err)
		}
		w.PID, w.SentLSN, w.FlushLSN = int(pid), lsnOf(sent), lsnOf(flush)
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read walsenders: %w", err)
	}
	return out, nil
}

// readReceiver reads a standby's wal receiver; nil when it has none.
func readReceiver(ctx context.Context, c *pgx.Conn) (*WalReceiver, error) {
	var wr WalReceiver
	var tli, startTLI *int64
	var flushed, latest, host, slot, start, written *string
	var port *int32
	err := c.QueryRow(ctx, receiverSQL).Scan(&wr.Status, &tli, &flushed, &latest, &host, &port, &slot, &start, &startTLI, &written)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("query wal receiver: %w", err)
	}
	if tli != nil {
		wr.ReceivedTLI = uint32(*tli)
	}
	if startTLI != nil {
		wr.StartTLI = uint32(*startTLI)
	}
	wr.FlushedLSN, wr.LatestEnd, wr.StartLSN, wr.WrittenLSN = lsnOf(flushed), lsnOf(latest), lsnOf(start), lsnOf(written)
	if host != nil {
		wr.SenderHost = *host
	}
	if port != nil {
		wr.SenderPort = int(*port)
	}
	if slot != nil {
		wr.SlotName = *slot
	}
	return &wr, nil
}

func lsnOf(s *string) LSN {
	if s == nil {
		return InvalidLSN
	}
	l, _ := ParseLSN(*s)
	return l
}

// StreamProof says why rc streams from the primary, or "" when nothing
// proves it: a walsender on the primary in state streaming (the one holding
// rc's slot, when rc uses a slot the primary lists), or WAL the receiver
// has written past where it started.
func StreamProof(rc *WalReceiver, senders []WalSender, slots []Slot) string {
	if rc == nil || rc.Status != "streaming" {
		return ""
	}
	holder, slotted := 0, false
	for _, s := range slots {
		if rc.SlotName != "" && s.Name == rc.SlotName {
			holder, slotted = s.ActivePID, true
		}
	}
	for _, w := range senders {
		if w.State == "streaming" && (!slotted || w.PID == holder) {
			return fmt.Sprintf("the primary's walsender (pid %d) streams to it, sent up to %s", w.PID, w.SentLSN.OrDash())
		}
	}
	if rc.WrittenLSN.Valid() && rc.StartLSN.Valid() && rc.WrittenLSN > rc.StartLSN {
		return fmt.Sprintf("it has received WAL from %s up to %s", rc.StartLSN, rc.WrittenLSN)
	}
	return ""
}

// confirmStreaming is the one place a standby is called streaming: once
// every server is read, each standby's wal receiver counts only with
// proof from StreamProof against the node it follows. Only then are its
// role and timeline the receiver's.
func (s *Snapshot) confirmStreaming() {
	for _, pr := range s.Pairs() {
		if r := s.ref(pr.Standby); r != nil {
			confirmStream(r, s.Node(pr.Upstream))
		}
	}
}

// confirmStream confirms r's stream from up, its upstream. A cascading
// upstream (itself in recovery) has walsenders too.
func confirmStream(r *Reading, up Reading) {
	rc := r.Receiver
	if rc == nil || !r.Up {
		return
	}
	var senders []WalSender
	var slots []Slot
	if up.Up && (!up.InRecovery || up.Upstream != "") {
		senders, slots = up.WalSenders, up.Slots
	}
	rc.Proof = StreamProof(rc, senders, slots)
	rc.Streaming = rc.Proof != ""
	if !rc.Streaming {
		return
	}
	if r.Role == RoleStandbyNoStream {
		r.Role = RoleStreaming
	}
	if rc.ReceivedTLI > 0 {
		r.Timeline, r.TLISource = rc.ReceivedTLI, SrcReceiver
	}
}

// Streams reports whether r's wal receiver is confirmed streaming.
func (r Reading) Streams() bool { return r.Receiver != nil && r.Receiver.Streaming }

// ReadStream reads the replica's wal receiver and the primary's
// walsenders and slots, and says whether the replica streams (the
// receiver's Streaming and Proof, as a poll would set them). rc is nil
// when the replica has no receiver. Plain queries of running servers:
// nothing lands in their logs.
func ReadStream(ctx context.Context, primaryConn, replicaConn string) (rc *WalReceiver, err error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := cluster.Connect(ctx, replicaConn)
	if err != nil {
		return nil, fmt.Errorf("connect to the replica: %w", err)
	}
	defer cluster.Disconnect(c)
	if rc, err = readReceiver(ctx, c); err != nil || rc == nil || rc.Status != "streaming" {
		return rc, err
	}
	p, err := cluster.Connect(ctx, primaryConn)
	if err != nil {
		return rc, fmt.Errorf("connect to the primary: %w", err)
	}
	defer cluster.Disconnect(p)
	senders, err := readWalSenders(ctx, p)
	if err != nil {
		return rc, err
	}
	var slots []Slot
	rows, err := p.Query(ctx, `select slot_name::text, coalesce(active_pid, 0) from pg_replication_slots`)
	if err != nil {
		return rc, fmt.Errorf("query slots: %w", err)
	}
	for rows.Next() {
		var s Slot
		var pid int32
		if err := rows.Scan(&s.Name, &pid); err != nil {
			rows.Close()
			return rc, fmt.Errorf("scan slot: %w", err)
		}
		s.ActivePID = int(pid)
		slots = append(slots, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rc, fmt.Errorf("read slots: %w", err)
	}
	rc.Proof = StreamProof(rc, senders, slots)
	rc.Streaming = rc.Proof != ""
	return rc, nil
}
