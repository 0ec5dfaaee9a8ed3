package pg

import (
	"fmt"
	"strconv"
	"strings"
)

// HistoryEntry is one line of a timeline history file: timeline TLI ended
// at Switch, where the next timeline forked off, for Reason.
type HistoryEntry struct {
	TLI    uint32 `json:"tli"`
	Switch LSN    `json:"switch_lsn"`
	Reason string `json:"reason"`
}

// History is a parsed 0000000N.history file of timeline TLI.
type History struct {
	TLI     uint32         `json:"tli"`
	File    string         `json:"file"`
	Entries []HistoryEntry `json:"entries"`
}

// ParseHistory parses the content of the history file of timeline tli.
// Comment and blank lines are skipped, as PostgreSQL does.
func ParseHistory(tli uint32, content string) (History, error) {
	h := History{TLI: tli, File: fmt.Sprintf("%08X.history", tli)}
	for n, line := range strings.Split(content, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			return h, fmt.Errorf("parse %s line %d: want timeline and LSN", h.File, n+1)
		}
		t, err := strconv.ParseUint(fields[0], 10, 32)
		if err != nil {
			return h, fmt.Errorf("parse %s line %d: timeline %q: %w", h.File, n+1, fields[0], err)
		}
		lsn, err := ParseLSN(fields[1])
		if err != nil {
			return h, fmt.Errorf("parse %s line %d: %w", h.File, n+1, err)
		}
		reason := ""
		if _, rest, ok := strings.Cut(line, fields[1]); ok {
			reason = strings.TrimSpace(rest)
		}
		h.Entries = append(h.Entries, HistoryEntry{TLI: uint32(t), Switch: lsn, Reason: reason})
	}
	return h, nil
}

// ParseHistoryFileName returns the timeline of a "0000000N.history" name.
func ParseHistoryFileName(name string) (uint32, bool) {
	base := strings.TrimSuffix(name, ".lz4")
	if len(base) != 16 || !strings.HasSuffix(base, ".history") {
		return 0, false
	}
	t, err := strconv.ParseUint(base[:8], 16, 32)
	if err != nil {
		return 0, false
	}
	return uint32(t), true
}

// ForkPoint is where timeline child left its parent, from child's history.
func (h History) ForkPoint() (parent uint32, at LSN, ok bool) {
	if len(h.Entries) == 0 {
		return 0, 0, false
	}
	last := h.Entries[len(h.Entries)-1]
	return last.TLI, last.Switch, true
}

// Contains reports whether position at on timeline tli is part of this
// timeline's history: tli is this timeline, or an ancestor and at is
// before the point where it was left.
func (h History) Contains(tli uint32, at LSN) bool {
	if tli == h.TLI {
		return true
	}
	for _, e := range h.Entries {
		if e.TLI == tli {
			return at <= e.Switch
		}
	}
	return false
}
