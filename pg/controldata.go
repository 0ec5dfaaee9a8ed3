package pg

import (
	"strconv"
	"strings"
)

// ControlData is the part of pg_controldata's output the panel shows.
type ControlData struct {
	State            string            `json:"state"`
	CheckpointLSN    LSN               `json:"checkpoint_lsn"`
	RedoLSN          LSN               `json:"redo_lsn"`
	CheckpointTLI    uint32            `json:"checkpoint_tli"`
	PrevTLI          uint32            `json:"prev_tli"`
	MinRecoveryPoint LSN               `json:"min_recovery_point"`
	MinRecoveryTLI   uint32            `json:"min_recovery_tli"`
	BackupStart      LSN               `json:"backup_start"`
	BackupEnd        LSN               `json:"backup_end"`
	Raw              map[string]string `json:"-"`
}

// ParseControlData parses pg_controldata output (LANG=C). Unknown or
// malformed lines are ignored: a partial reading beats none.
func ParseControlData(out string) ControlData {
	c := ControlData{Raw: map[string]string{}}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		c.Raw[k] = v
		lsn := func() LSN { l, _ := ParseLSN(v); return l }
		tli := func() uint32 { n, _ := strconv.ParseUint(v, 10, 32); return uint32(n) }
		switch k {
		case "Database cluster state":
			c.State = v
		case "Latest checkpoint location":
			c.CheckpointLSN = lsn()
		case "Latest checkpoint's REDO location":
			c.RedoLSN = lsn()
		case "Latest checkpoint's TimeLineID":
			c.CheckpointTLI = tli()
		case "Latest checkpoint's PrevTimeLineID":
			c.PrevTLI = tli()
		case "Minimum recovery ending location":
			c.MinRecoveryPoint = lsn()
		case "Min recovery ending loc's timeline":
			c.MinRecoveryTLI = tli()
		case "Backup start location":
			c.BackupStart = lsn()
		case "Backup end location":
			c.BackupEnd = lsn()
		}
	}
	return c
}
