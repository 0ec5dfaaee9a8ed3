package pg

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// WALRecord is one record as pg_waldump prints it.
type WALRecord struct {
	LSN  LSN    `json:"lsn"`
	Prev LSN    `json:"prev,omitempty"`
	Rmgr string `json:"rmgr"`
	Type string `json:"type"` // the first word of the description: SWITCH, INSERT+INIT, COMMIT...
	Desc string `json:"desc"` // the description without its block references
	XID  uint32 `json:"xid,omitempty"`
	Len  int    `json:"len"` // total length, with full-page images
	// Rels are the relation files the record's blocks belong to, as
	// tablespace/database/filenode.
	Rels []RelFile `json:"rels,omitempty"`
	// Relations are Rels by name where the primary resolved them.
	Relations []string `json:"relations,omitempty"`
}

// RelFile is a relation's file: tablespace, database and filenode OIDs.
type RelFile struct {
	Spc, DB, Node uint32
}

func (r RelFile) String() string { return fmt.Sprintf("%d/%d/%d", r.Spc, r.DB, r.Node) }

// MarshalText prints a RelFile as pg_waldump does.
func (r RelFile) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads tablespace/database/filenode.
func (r *RelFile) UnmarshalText(b []byte) error {
	var x RelFile
	if _, err := fmt.Sscanf(string(b), "%d/%d/%d", &x.Spc, &x.DB, &x.Node); err != nil {
		return fmt.Errorf("parse relation file %q: %w", b, err)
	}
	*r = x
	return nil
}

// Kind is "rmgr TYPE", how records are grouped in summaries.
func (r WALRecord) Kind() string { return r.Rmgr + " " + r.Type }

var (
	waldumpLine = regexp.MustCompile(`^rmgr: (\S+)\s+len \(rec/tot\):\s*(\d+)/\s*(\d+), tx:\s*(\d+), lsn: ([0-9A-Fa-f]+/[0-9A-Fa-f]+), prev ([0-9A-Fa-f]+/[0-9A-Fa-f]+), desc: ?(.*)$`)
	blkrefRel   = regexp.MustCompile(`blkref #\d+: rel (\d+)/(\d+)/(\d+)`)
)

// ParseWALDumpLine reads one record line of pg_waldump's output (13 to 17).
func ParseWALDumpLine(line string) (WALRecord, bool) {
	m := waldumpLine.FindStringSubmatch(strings.TrimRight(line, "\r\n"))
	if m == nil {
		return WALRecord{}, false
	}
	var r WALRecord
	r.Rmgr = m[1]
	r.Len, _ = strconv.Atoi(m[3])
	xid, _ := strconv.ParseUint(m[4], 10, 32)
	r.XID = uint32(xid)
	var err error
	if r.LSN, err = ParseLSN(m[5]); err != nil {
		return WALRecord{}, false
	}
	r.Prev, _ = ParseLSN(m[6])
	desc := m[7]
	if i := strings.Index(desc, "blkref #"); i >= 0 {
		for _, b := range blkrefRel.FindAllStringSubmatch(desc[i:], -1) {
			rf := RelFile{Spc: atou32(b[1]), DB: atou32(b[2]), Node: atou32(b[3])}
			if !containsRel(r.Rels, rf) {
				r.Rels = append(r.Rels, rf)
			}
		}
		desc = desc[:i]
	}
	r.Desc = strings.TrimRight(strings.TrimSpace(desc), ",")
	r.Type, _, _ = strings.Cut(r.Desc, " ")
	r.Type = strings.TrimRight(r.Type, ",;:")
	return r, true
}

func atou32(s string) uint32 { v, _ := strconv.ParseUint(s, 10, 32); return uint32(v) }

func containsRel(rs []RelFile, r RelFile) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// WALDumpOutput is pg_waldump's output read: the records and, when it
// stopped on an error, that error. Reaching the end of the WAL written so
// far is not an error (EndOfWAL).
type WALDumpOutput struct {
	Records  []WALRecord
	Err      string // pg_waldump's own error line, without its "pg_waldump: error: " prefix
	EndOfWAL bool   // it stopped at the end of the valid WAL (zeroes or a record that does not follow)
}

// ParseWALDump reads pg_waldump's combined output.
func ParseWALDump(out string) WALDumpOutput {
	var o WALDumpOutput
	for _, line := range strings.Split(out, "\n") {
		if r, ok := ParseWALDumpLine(line); ok {
			o.Records = append(o.Records, r)
			continue
		}
		if msg, ok := waldumpError(line); ok && o.Err == "" {
			if endOfWAL(msg) {
				o.EndOfWAL = true
				continue
			}
			o.Err = msg
		}
	}
	return o
}

// waldumpError recognises pg_waldump's error lines ("pg_waldump: error:"
// since 15, "pg_waldump: fatal:" before).
func waldumpError(line string) (string, bool) {
	line = strings.TrimSpace(line)
	for _, p := range []string{"pg_waldump: error: ", "pg_waldump: fatal: "} {
		if rest, ok := strings.CutPrefix(line, p); ok {
			return rest, true
		}
	}
	return "", false
}

// endOfWAL tells pg_waldump's "error" at the end of the WAL written so far
// (a live segment continues with zeroes) from a real one.
func endOfWAL(msg string) bool {
	for _, s := range []string{"invalid record length at", "wanted 24, got 0", "record with incorrect prev-link", "invalid magic number 0000", "contrecord is requested"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// WALGroup counts the records of one resource manager and type in a range.
type WALGroup struct {
	Kind  string `json:"kind"` // "rmgr TYPE"
	Count int    `json:"count"`
	First LSN    `json:"first"`
	Last  LSN    `json:"last"`
}

// Summarise groups records per resource manager and type, in the order
// each kind first appears.
func Summarise(recs []WALRecord) []WALGroup {
	var out []WALGroup
	idx := map[string]int{}
	for _, r := range recs {
		k := r.Kind()
		i, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			out = append(out, WALGroup{Kind: k, First: r.LSN})
			i = len(out) - 1
		}
		out[i].Count++
		out[i].Last = r.LSN
	}
	return out
}

// Transactions returns the transaction IDs that wrote records in recs, in
// order of appearance, and how many of them committed there.
func Transactions(recs []WALRecord) (xids []uint32, committed int) {
	seen := map[uint32]bool{}
	for _, r := range recs {
		if r.XID == 0 {
			continue
		}
		if !seen[r.XID] {
			seen[r.XID] = true
			xids = append(xids, r.XID)
		}
		if r.Rmgr == "Transaction" && (r.Type == "COMMIT" || r.Type == "COMMIT_PREPARED") {
			committed++
		}
	}
	return xids, committed
}

// touched lists the relations that transactions in recs wrote to, by name
// where resolved, else as a relation file, sorted with user relations
// before catalogs.
func touched(recs []WALRecord) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range recs {
		if r.XID == 0 {
			continue
		}
		names := r.Relations
		if len(names) == 0 {
			for _, rf := range r.Rels {
				names = append(names, "rel "+rf.String())
			}
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return userFirst(out[i]) < userFirst(out[j]) })
	return out
}

func userFirst(name string) int {
	switch {
	case strings.HasPrefix(name, "pg_"), strings.HasPrefix(name, "pg_catalog."), strings.HasPrefix(name, "pg_toast."):
		return 2
	case strings.HasPrefix(name, "rel "):
		return 1
	}
	return 0
}
