package pg

import (
	"regexp"
	"strings"
)

// Origin is who wrote a line of a server log. A server's stderr carries
// PostgreSQL's own messages and whatever restore_command and
// archive_command print (WAL-G's "ERROR: 2026/11/30 07:35:19 Archive … does
// not exist.", cp's "cannot stat"): the latter are the archiver talking,
// routine misses included, and never a server's outcome.
type Origin int

// Origins of a log line.
const (
	OriginNone         Origin = iota // a blank line
	OriginServer                     // PostgreSQL's own message
	OriginContinuation               // a tab-indented continuation of the message before
	OriginCommand                    // output of restore_command or archive_command
)

// LogLine is one server log line, classified.
type LogLine struct {
	Raw     string
	Origin  Origin
	Level   string // PostgreSQL's severity (LOG, FATAL…); for command output, its own level word if any
	Message string // the text after the level
}

// serverLevel finds PostgreSQL's severity: elog.c always writes "LEVEL:" and
// two spaces, after whatever log_line_prefix made. Command output does not
// (WAL-G writes one space and a date).
var serverLevel = regexp.MustCompile(`(?:^|\s)(DEBUG[1-5]?|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|DETAIL|HINT|QUERY|CONTEXT|LOCATION|STATEMENT):  `)

// commandLevel is a leading level word of a tool's own log format
// (WAL-G's "ERROR: 2026/…", "INFO: …").
var commandLevel = regexp.MustCompile(`^([A-Z]+): `)

// ParseLogLine classifies one line of a server log by origin and level.
func ParseLogLine(line string) LogLine {
	l := LogLine{Raw: line}
	if strings.TrimSpace(line) == "" {
		return l
	}
	if line[0] == '\t' {
		l.Origin = OriginContinuation
		l.Message = strings.TrimSpace(line)
		return l
	}
	if m := serverLevel.FindStringSubmatchIndex(line); m != nil {
		l.Origin = OriginServer
		l.Level = line[m[2]:m[3]]
		l.Message = strings.TrimSpace(line[m[1]:])
		return l
	}
	l.Origin = OriginCommand
	l.Message = strings.TrimSpace(line)
	if m := commandLevel.FindStringSubmatch(line); m != nil {
		l.Level = m[1]
		l.Message = strings.TrimSpace(line[len(m[0]):])
	}
	return l
}

// IsProblem reports whether the line is PostgreSQL's own FATAL, PANIC or
// ERROR, leaving out the refusals a server gives any client while it
// starts or stops. Command output is never a problem of the server.
func (l LogLine) IsProblem() bool {
	if l.Origin != OriginServer {
		return false
	}
	switch l.Level {
	case "FATAL", "PANIC", "ERROR":
	default:
		return false
	}
	for _, noise := range refusalNoise {
		if strings.Contains(l.Message, noise) {
			return false
		}
	}
	return true
}

// IsConfigComplaint reports whether the line is one of the LOG lines that
// name the file, line and parameter before PostgreSQL's "configuration
// file … contains errors" FATAL.
func (l LogLine) IsConfigComplaint() bool {
	if l.Origin != OriginServer {
		return false
	}
	for _, k := range []string{"syntax error in file", "invalid value for parameter", "unrecognized configuration parameter", "could not open configuration"} {
		if strings.Contains(l.Message, k) {
			return true
		}
	}
	return false
}

// refusalNoise are the messages a server sends a client it cannot serve
// yet (or any more): they say who knocked, not what the server did.
var refusalNoise = []string{
	"the database system is starting up",
	"the database system is shutting down",
	"the database system is not yet accepting connections",
	"the database system is not accepting connections",
	"the database system is in recovery mode",
}

// IsProblemLine reports whether a raw log line is a problem of the server
// (see LogLine.IsProblem).
func IsProblemLine(line string) bool { return ParseLogLine(line).IsProblem() }

// IsCommandLine reports whether a raw log line was printed by
// restore_command or archive_command rather than by PostgreSQL.
func IsCommandLine(line string) bool { return ParseLogLine(line).Origin == OriginCommand }

// PausedAtEnd reports whether the line is PostgreSQL saying recovery
// paused at its target (recovery_target_action = 'pause'): the server stays
// in recovery until someone resumes replay.
func (l LogLine) PausedAtEnd() bool {
	return l.Origin == OriginServer && strings.Contains(l.Message, "pausing at the end of recovery")
}

// ShutdownAtTarget reports whether the line is PostgreSQL saying it shuts
// down because recovery reached its target (recovery_target_action =
// 'shutdown').
func (l LogLine) ShutdownAtTarget() bool {
	return l.Origin == OriginServer && strings.Contains(l.Message, "shutdown at recovery target")
}

// Promoted reports whether the line is PostgreSQL saying recovery ended
// and the server runs as a primary (a new timeline, or open for writes).
func (l LogLine) Promoted() bool {
	return l.Origin == OriginServer && (strings.Contains(l.Message, "selected new timeline ID") || l.Message == "database system is ready to accept connections")
}
