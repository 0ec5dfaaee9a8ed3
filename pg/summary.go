package pg

import (
	"fmt"
	"strings"
)

// Summary is a one-line account of a reading, for transcripts and logs.
func (r Reading) Summary() string {
	parts := []string{r.Process}
	if r.Role != "" && r.Role != RoleUnknown {
		parts = append(parts, r.Role)
	}
	if r.Timeline > 0 {
		parts = append(parts, fmt.Sprintf("timeline %d (%s)", r.Timeline, r.TLISource))
	}
	if r.FlushLSN.Valid() {
		parts = append(parts, "flush "+r.FlushLSN.String())
	}
	if r.ReplayLSN.Valid() {
		parts = append(parts, "replay "+r.ReplayLSN.String())
	}
	if r.ReceiveLSN.Valid() && r.ReceiveLSN != r.ReplayLSN {
		parts = append(parts, "receive "+r.ReceiveLSN.String())
	}
	if r.Receiver != nil {
		parts = append(parts, "wal receiver "+r.Receiver.Status)
	}
	if c := r.Control; c != nil && !r.Up {
		parts = append(parts, fmt.Sprintf("pg_controldata: %s, min recovery %s", c.State, c.MinRecoveryPoint))
	}
	return strings.Join(parts, ", ")
}
