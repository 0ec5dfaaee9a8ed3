package pg

import "testing"

func TestParseLogLineOrigin(t *testing.T) {
	tests := []struct {
		line    string
		origin  Origin
		level   string
		problem bool
	}{
		// WAL-G's routine miss while a standby starts: its own format, one
		// space after the level, then a date.
		{"ERROR: 2026/11/30 07:35:19.431523 Archive '00000003.history' does not exist.", OriginCommand, "ERROR", false},
		{"INFO: 2026/11/30 07:35:19.431523 FILE PATH: 000000010000000000000002.lz4", OriginCommand, "INFO", false},
		{"cp: cannot stat '/lab/wal-g-storage/00000003.history': No such file or directory", OriginCommand, "", false},
		{"sh: 1: /usr/local/bin/wal-g: not found", OriginCommand, "", false},
		// PostgreSQL's own lines, with the default prefix, without one,
		// and with a prefix of the user's.
		{"2026-11-30 08:58:59.240 UTC [25140] LOG:  received fast shutdown request", OriginServer, "LOG", false},
		{"2026-11-30 08:58:59.240 UTC [25140] FATAL:  could not start WAL streaming: ERROR:  requested starting point 0/3000000 is ahead of the WAL flush position of this server 0/2000178", OriginServer, "FATAL", true},
		{"FATAL:  configuration file \"/data/postgresql.conf\" contains errors", OriginServer, "FATAL", true},
		{"myapp 12:00 ERROR:  relation \"x\" does not exist", OriginServer, "ERROR", true},
		{"2026-11-30 08:58:58.905 UTC [25104] FATAL:  the database system is starting up", OriginServer, "FATAL", false},
		{"2026-11-30 08:58:58.905 UTC [25104] ERROR:  recovery is not in progress", OriginServer, "ERROR", true},
		{"2026-11-30 08:58:58.905 UTC [25104] PANIC:  could not write to file \"pg_wal/xlogtemp.1\": No space left on device", OriginServer, "PANIC", true},
		{"2026-11-30 08:58:58.905 UTC [25104] DETAIL:  Consistent recovery state has not been yet reached.", OriginServer, "DETAIL", false},
		{"\tselect 1", OriginContinuation, "", false},
		{"", OriginNone, "", false},
	}
	for _, tt := range tests {
		l := ParseLogLine(tt.line)
		if l.Origin != tt.origin || l.Level != tt.level || l.IsProblem() != tt.problem {
			t.Errorf("%q: origin %d level %q problem %v, want %d %q %v", tt.line, l.Origin, l.Level, l.IsProblem(), tt.origin, tt.level, tt.problem)
		}
	}
}

// An archiver's line naming a server's message must not pass for the
// server's: only restore_command's own rules read command output.
func TestExplainLogLineKeepsOrigins(t *testing.T) {
	f, ok := ExplainLogLine("ERROR: 2026/11/30 07:35:19.431523 Archive '000000020000000000000002' does not exist.")
	if !ok || f.Kind != FindMissingInArchive || !f.FromCommand || f.File != "000000020000000000000002" {
		t.Errorf("WAL-G miss: %+v %v", f, ok)
	}
	if f, ok := ExplainLogLine("INFO: 2026/11/30 07:35:19 requested starting point 0/3000000 is ahead of the WAL flush position of this server 0/2000178"); ok {
		t.Errorf("command output taken for the server's refusal: %+v", f)
	}
	if f, ok := ExplainLogLine("2026-11-30 08:58:59.136 UTC [25145] LOG:  restored log file \"00000002.history\" from archive"); !ok || f.FromCommand {
		t.Errorf("server line: %+v %v", f, ok)
	}
}

func TestConfigComplaint(t *testing.T) {
	if !ParseLogLine(`2026-11-30 08:58:59.136 UTC [1] LOG:  syntax error in file "/data/custom-pg-configs/replica_restore.conf" line 1, near token "="`).IsConfigComplaint() {
		t.Error("syntax error line not seen as a config complaint")
	}
	if ParseLogLine(`syntax error in file "x" line 1`).IsConfigComplaint() {
		t.Error("command output taken for a config complaint")
	}
}
