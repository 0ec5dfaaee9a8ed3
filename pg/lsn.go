package pg

import (
	"fmt"
	"strconv"
	"strings"
)

// LSN is a PostgreSQL WAL position (pg_lsn), printed as X/Y.
type LSN uint64

// InvalidLSN is 0/0, PostgreSQL's invalid position.
const InvalidLSN LSN = 0

// WALSegSize is the default WAL segment size (16 MiB).
const WALSegSize = 16 << 20

// ParseLSN parses "X/Y" (hex halves, as pg_lsn prints).
func ParseLSN(s string) (LSN, error) {
	s = strings.TrimSpace(s)
	hi, lo, ok := strings.Cut(s, "/")
	if !ok || hi == "" || lo == "" || len(hi) > 8 || len(lo) > 8 {
		return 0, fmt.Errorf("parse LSN %q: want X/Y in hex", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("parse LSN %q: %w", s, err)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("parse LSN %q: %w", s, err)
	}
	return LSN(h<<32 | l), nil
}

// String prints X/Y as PostgreSQL does.
func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint32(l>>32), uint32(l)) }

// MarshalText prints the LSN as X/Y in JSON.
func (l LSN) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText parses X/Y.
func (l *LSN) UnmarshalText(b []byte) error {
	v, err := ParseLSN(string(b))
	*l = v
	return err
}

// Valid reports whether l is not 0/0.
func (l LSN) Valid() bool { return l != InvalidLSN }

// Segment is the WAL segment number l falls in.
func (l LSN) Segment() uint64 { return uint64(l) / WALSegSize }

// WALFileName is the segment file name holding l on timeline tli.
func WALFileName(tli uint32, l LSN) string {
	seg := l.Segment()
	perID := uint64(0x100000000) / WALSegSize
	return fmt.Sprintf("%08X%08X%08X", tli, seg/perID, seg%perID)
}

// ParseWALFileName splits a 24-hex-digit segment name into timeline and
// the LSN where that segment starts.
func ParseWALFileName(name string) (tli uint32, start LSN, ok bool) {
	if len(name) < 24 {
		return 0, 0, false
	}
	base := name[:24]
	for _, c := range base {
		if !strings.ContainsRune("0123456789ABCDEF", c) {
			return 0, 0, false
		}
	}
	t, _ := strconv.ParseUint(base[:8], 16, 32)
	hi, _ := strconv.ParseUint(base[8:16], 16, 32)
	lo, _ := strconv.ParseUint(base[16:24], 16, 32)
	perID := uint64(0x100000000) / WALSegSize
	if lo >= perID {
		return 0, 0, false
	}
	return uint32(t), LSN((hi*perID + lo) * WALSegSize), true
}
