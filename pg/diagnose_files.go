package pg

import (
	"fmt"
	"sort"
	"strings"
)

// PositionOf is where a server is in WAL and on which timeline: its
// Position (flush for a primary, replay for a standby, the minimum recovery
// point or checkpoint when down) and the timeline that position belongs to.
func PositionOf(r Reading) (LSN, uint32) {
	pos := r.Position()
	if r.Up && r.InRecovery && !pos.Valid() {
		// Before the first record is replayed only the receiver has moved.
		pos = r.ReceiveLSN
	}
	tli := r.Timeline
	if !r.Up && r.Control != nil {
		switch {
		case r.Control.MinRecoveryPoint.Valid() && r.Control.MinRecoveryTLI > 0:
			tli = r.Control.MinRecoveryTLI
		case tli == 0:
			tli = r.Control.CheckpointTLI
		}
	}
	return pos, tli
}

// archiveIndex answers "is this file in the archive?" by WAL file name
// (the archive may hold compressed copies; the poller strips .lz4).
type archiveIndex struct {
	whole   map[string]ArchiveFile // complete segments and history files
	partial map[string]ArchiveFile // <segment>.partial copies
}

func indexArchive(a Archive) archiveIndex {
	ix := archiveIndex{whole: map[string]ArchiveFile{}, partial: map[string]ArchiveFile{}}
	for _, f := range a.WAL {
		name := trimCompression(f.Name)
		switch {
		case f.Partial || strings.HasSuffix(name, ".partial"):
			ix.partial[strings.TrimSuffix(name, ".partial")] = f
		case f.Backup:
		case f.History || len(name) == 24:
			ix.whole[name] = f
		}
	}
	return ix
}

// trimCompression drops the extension an archiver adds (WAL-G: .lz4 by
// default, others on request).
func trimCompression(name string) string {
	for _, ext := range []string{".lz4", ".br", ".zst", ".lzma", ".gz", ".bz2"} {
		name = strings.TrimSuffix(name, ext)
	}
	return name
}

func (ix archiveIndex) lookup(name string) WantedFile {
	w := WantedFile{Name: name}
	if f, ok := ix.whole[name]; ok {
		w.InArchive, w.StoredAs = true, f.Name
	} else if f, ok := ix.partial[name]; ok {
		w.Partial, w.StoredAs = true, f.Name
	}
	return w
}

func (ix archiveIndex) has(name string) bool { _, ok := ix.whole[name]; return ok }

// WantedFile is a file a server will ask the archive for, and whether the
// archive has it.
type WantedFile struct {
	Name      string `json:"name"`
	Timeline  uint32 `json:"timeline,omitempty"`
	InArchive bool   `json:"in_archive"`
	StoredAs  string `json:"stored_as,omitempty"` // the archive's name for it, when it differs or is partial
	Partial   bool   `json:"partial,omitempty"`   // only a .partial copy is there: restore_command will not use it
}

// NextFiles is what one server will ask the archive for next.
type NextFiles struct {
	Node     string `json:"node"`
	Timeline uint32 `json:"timeline"`        // the timeline the server is on now
	Target   uint32 `json:"target_timeline"` // the newest timeline it can see and will follow
	Position LSN    `json:"position"`        // where its next WAL read starts
	// Asks is false for a primary: it writes WAL and archives it instead
	// of reading from the archive; Segments then holds the segment it is
	// writing.
	Asks bool `json:"asks"`
	// Segments are the names PostgreSQL tries for the next segment, in
	// its order: the newest timeline first, then older ones whose
	// history includes that segment.
	Segments []WantedFile `json:"segments"`
	// Uses is the first of Segments the archive has: what restore_command
	// will hand over. Empty when none is there and the server waits.
	Uses string `json:"uses,omitempty"`
	// History is the history file of timeline Target+1: when it shows up
	// in the archive a standby switches to that new timeline.
	History WantedFile `json:"history"`
	Note    string     `json:"note"`
}

// tlBegin is a timeline and the LSN where it begins (0 for the first).
type tlBegin struct {
	tli   uint32
	begin LSN
}

func historyOf(hs []History, tli uint32) (History, bool) {
	for _, h := range hs {
		if h.TLI == tli {
			return h, true
		}
	}
	if tli == 1 {
		return History{TLI: 1, File: "00000001.history"}, true // timeline 1 has no history file
	}
	return History{}, false
}

// timelineBegins lists the timelines of target's history, newest first,
// as PostgreSQL's expectedTLEs list.
func timelineBegins(hs []History, target uint32, fallback ...uint32) []tlBegin {
	h, ok := historyOf(hs, target)
	if !ok {
		// Without the history file's content PostgreSQL would still try the
		// target and then older timelines; begins are unknown.
		out := []tlBegin{{tli: target}}
		for _, t := range fallback {
			if t != target && t != 0 {
				out = append(out, tlBegin{tli: t})
			}
		}
		return out
	}
	out := []tlBegin{{tli: target}}
	if _, at, ok := h.ForkPoint(); ok {
		out[0].begin = at
	}
	for i := len(h.Entries) - 1; i >= 0; i-- {
		b := tlBegin{tli: h.Entries[i].TLI}
		if i > 0 {
			b.begin = h.Entries[i-1].Switch
		}
		out = append(out, b)
	}
	return out
}

// WantedBy works out the files r's server will ask the archive for next,
// following PostgreSQL's rules: with recovery_target_timeline = 'latest' it
// follows the newest timeline whose history file it can find, and for each
// segment it tries that timeline first, then older ones of its history
// (XLogFileReadAnyTLI). ok is false when the server's position is unknown.
func WantedBy(r Reading, histories []History, a Archive) (NextFiles, bool) {
	ix := indexArchive(a)
	pos, tli := PositionOf(r)
	if !r.Up && r.Control != nil && r.Control.RedoLSN.Valid() {
		// A stopped server starts again from its checkpoint's REDO point.
		pos = r.Control.RedoLSN
		if r.Control.CheckpointTLI > 0 {
			tli = r.Control.CheckpointTLI
		}
	}
	if !pos.Valid() || tli == 0 {
		return NextFiles{}, false
	}
	nf := NextFiles{Node: r.Node, Timeline: tli, Target: tli, Position: pos}
	if r.Up && !r.InRecovery {
		seg := ix.lookup(WALFileName(tli, pos))
		seg.Timeline = tli
		nf.Segments = []WantedFile{seg}
		nf.History = ix.lookup(fmt.Sprintf("%08X.history", tli+1))
		nf.History.Timeline = tli + 1
		nf.Note = fmt.Sprintf("writes %s; it reaches the archive once full or switched", seg.Name)
		if seg.InArchive {
			nf.Note = fmt.Sprintf("writes WAL after %s; %s is archived", pos, seg.Name)
		}
		if nf.History.InArchive {
			nf.Note += fmt.Sprintf("; the archive has %s: another server made timeline %d", nf.History.Name, tli+1)
		}
		return nf, true
	}
	nf.Asks = true
	known := map[uint32]bool{}
	for _, h := range histories {
		known[h.TLI] = true
	}
	for name := range ix.whole {
		if t, ok := ParseHistoryFileName(name); ok {
			known[t] = true
		}
	}
	for known[nf.Target+1] {
		nf.Target++
	}
	seg := pos.Segment()
	for _, b := range timelineBegins(histories, nf.Target, tli) {
		if b.tli < tli {
			break // PostgreSQL does not look at timelines older than its current file's
		}
		if b.begin.Valid() && seg < b.begin.Segment() {
			continue // that timeline had not begun by this segment
		}
		w := ix.lookup(WALFileName(b.tli, pos))
		w.Timeline = b.tli
		nf.Segments = append(nf.Segments, w)
		if w.InArchive && nf.Uses == "" {
			nf.Uses = w.Name
		}
	}
	nf.History = ix.lookup(fmt.Sprintf("%08X.history", nf.Target+1))
	nf.History.Timeline = nf.Target + 1
	nf.Note = wantedNote(nf)
	return nf, true
}

func wantedNote(nf NextFiles) string {
	if len(nf.Segments) == 0 {
		return "no segment to ask for"
	}
	first := nf.Segments[0]
	switch {
	case first.InArchive:
		return fmt.Sprintf("asks for %s: in the archive", first.Name)
	case nf.Uses != "":
		return fmt.Sprintf("asks for %s (missing), then gets %s from timeline %d instead", first.Name, nf.Uses, mustFileTLI(nf.Uses))
	default:
		var names []string
		for _, s := range nf.Segments {
			names = append(names, s.Name)
		}
		return fmt.Sprintf("asks for %s: none is in the archive, so it waits (or streams)", strings.Join(names, ", then "))
	}
}

func mustFileTLI(name string) uint32 { t, _ := fileTimeline(name); return t }

// NextWanted is WantedBy for every server of s, in order; a server whose
// position is unknown is left out.
func NextWanted(s Snapshot) []NextFiles {
	var out []NextFiles
	for _, r := range s.Nodes {
		if nf, ok := WantedBy(r, s.Histories, s.Archive); ok {
			out = append(out, nf)
		}
	}
	return out
}

// ArchiveTimelines groups the archive's WAL segments by timeline, each
// list sorted by start; history, partial and backup-label files are left
// out (see Archive.WAL for them).
func ArchiveTimelines(a Archive) map[uint32][]ArchiveFile {
	out := map[uint32][]ArchiveFile{}
	for _, f := range a.WAL {
		if f.History || f.Backup || f.Partial {
			continue
		}
		out[f.TLI] = append(out[f.TLI], f)
	}
	for t := range out {
		sort.Slice(out[t], func(i, j int) bool { return out[t][i].Start < out[t][j].Start })
	}
	return out
}
