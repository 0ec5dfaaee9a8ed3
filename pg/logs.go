package pg

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Finding severities, worst first.
const (
	SevDiverged = "diverged" // the line alone proves the servers' histories split
	SevProblem  = "problem"  // something failed; not proof of divergence by itself
	SevInfo     = "info"     // a step of recovery worth explaining
)

// Finding kinds: stable identifiers for the log lines ExplainLogLine knows.
const (
	FindForkedBeforeRecovery = "forked-before-recovery-point"
	FindNoMinRecoveryPoint   = "timeline-lacks-min-recovery-point"
	FindAheadOfFlush         = "start-ahead-of-flush"
	FindStartNotInHistory    = "start-not-in-history"
	FindHistoryForkDetail    = "history-fork-detail"
	FindNotAChild            = "timeline-not-a-child"
	FindNotAChildDetail      = "checkpoint-past-fork-detail"
	FindTargetNotReached     = "recovery-target-not-reached"
	FindSelectedTimeline     = "selected-new-timeline"
	FindSameNewTimeline      = "same-new-timeline" // made by Diagnose from two logs
	FindIncorrectPrevLink    = "incorrect-prev-link"
	FindSlotMissing          = "slot-missing"
	FindCannotConnect        = "cannot-connect-to-primary"
	FindRestored             = "restored-from-archive"
	FindMissingInArchive     = "missing-in-archive"
	FindStartedStreaming     = "started-streaming"
	FindWaitingForWAL        = "waiting-for-wal"
	FindConsistent           = "consistent"
	FindStopAtTarget         = "stopped-at-recovery-target"
)

// Finding is a log line walstep recognises, with what it means in plain
// words and the values it carries.
type Finding struct {
	Kind        string `json:"kind"`
	Severity    string `json:"severity"`
	Node        string `json:"node,omitempty"`
	Line        string `json:"line"`
	Explanation string `json:"explanation"`
	Timeline    uint32 `json:"timeline,omitempty"`       // the timeline the line is about (new, requested, streamed)
	OtherTLI    uint32 `json:"other_timeline,omitempty"` // the second timeline the line names, if any
	LSN         LSN    `json:"lsn,omitempty"`            // the main position the line names
	OtherLSN    LSN    `json:"other_lsn,omitempty"`      // the second position, if any
	File        string `json:"file,omitempty"`           // a WAL or history file the line names
	Repeats     int    `json:"repeats,omitempty"`        // how often the message appeared, when Diagnose merged repeats
	FromCommand bool   `json:"from_command,omitempty"`   // printed by restore_command or archive_command, not by PostgreSQL
}

// Diverges reports whether the finding alone proves a divergence.
func (f Finding) Diverges() bool { return f.Severity == SevDiverged }

const (
	lsnRE = `([0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8})`
	tliRE = `(\d{1,10})`
)

// logRule recognises one message; explain turns the submatches into a
// finding. Rules are tried in order, so more specific ones come first.
type logRule struct {
	re      *regexp.Regexp
	kind    string
	sev     string
	cmd     bool // the rule reads restore_command output, not PostgreSQL's
	explain func(f *Finding, m []string)
}

func mustLSN(s string) LSN { l, _ := ParseLSN(s); return l }

func mustTLI(s string) uint32 {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

var logRules = []logRule{
	{
		re:   regexp.MustCompile(`new timeline ` + tliRE + ` forked off current database system timeline ` + tliRE + ` before current recovery point ` + lsnRE),
		kind: FindForkedBeforeRecovery, sev: SevDiverged,
		explain: func(f *Finding, m []string) {
			f.Timeline, f.OtherTLI, f.LSN = mustTLI(m[1]), mustTLI(m[2]), mustLSN(m[3])
			f.Explanation = fmt.Sprintf("A new timeline %d appeared, but it left timeline %d before %s, and this server has already replayed timeline %d up to %s. "+
				"It holds WAL that timeline %d never had, so it cannot switch to timeline %d and stays on the old one: it has diverged.",
				f.Timeline, f.OtherTLI, f.LSN, f.OtherTLI, f.LSN, f.Timeline, f.Timeline)
		},
	},
	{
		re:   regexp.MustCompile(`requested timeline ` + tliRE + ` does not contain minimum recovery point ` + lsnRE + ` on timeline ` + tliRE),
		kind: FindNoMinRecoveryPoint, sev: SevDiverged,
		explain: func(f *Finding, m []string) {
			f.Timeline, f.LSN, f.OtherTLI = mustTLI(m[1]), mustLSN(m[2]), mustTLI(m[3])
			f.Explanation = fmt.Sprintf("This server has already replayed timeline %d up to %s, but timeline %d, which it was told to follow, left timeline %d before that point. "+
				"Its data contains changes timeline %d never had, so it refuses to start: it has diverged and must be rebuilt.",
				f.OtherTLI, f.LSN, f.Timeline, f.OtherTLI, f.Timeline)
		},
	},
	{
		re:   regexp.MustCompile(`requested starting point ` + lsnRE + ` on timeline ` + tliRE + ` is not in this server's history`),
		kind: FindStartNotInHistory, sev: SevDiverged,
		explain: func(f *Finding, m []string) {
			f.LSN, f.Timeline = mustLSN(m[1]), mustTLI(m[2])
			f.Explanation = fmt.Sprintf("A standby asked to stream from %s on timeline %d, but on the primary's history timeline %d ended before %s. "+
				"The standby followed timeline %d past the point where the primary left it: it has diverged.",
				f.LSN, f.Timeline, f.Timeline, f.LSN, f.Timeline)
		},
	},
	{
		re:   regexp.MustCompile(`requested starting point ` + lsnRE + ` is ahead of the WAL flush position of this server ` + lsnRE),
		kind: FindAheadOfFlush, sev: SevDiverged,
		explain: func(f *Finding, m []string) {
			f.LSN, f.OtherLSN = mustLSN(m[1]), mustLSN(m[2])
			f.Explanation = fmt.Sprintf("A standby asked to stream from %s, but the primary has written WAL only up to %s: the standby is ahead of the primary. "+
				"It replayed WAL the primary never wrote (typically the old timeline's WAL past the fork point), so it can never stream from this primary.",
				f.LSN, f.OtherLSN)
		},
	},
	{
		// PostgreSQL 17's walreceiver waits instead of being refused: the
		// same divergence, logged by the standby at LOG level.
		re:   regexp.MustCompile(`walreceiver requested start point ` + lsnRE + ` on timeline ` + tliRE + ` is ahead of the upstream server's flush position ` + lsnRE),
		kind: FindAheadOfFlush, sev: SevDiverged,
		explain: func(f *Finding, m []string) {
			f.LSN, f.Timeline, f.OtherLSN = mustLSN(m[1]), mustTLI(m[2]), mustLSN(m[3])
			f.Explanation = fmt.Sprintf("The standby wants to stream timeline %d from %s, but the primary has written WAL only up to %s: the standby is ahead of the primary. "+
				"It replayed WAL the primary never wrote (typically the old timeline's WAL past the fork point); it waits for WAL the primary will write differently, so it can never follow it.",
				f.Timeline, f.LSN, f.OtherLSN)
		},
	},
	{
		re:   regexp.MustCompile(`This server's history forked from timeline ` + tliRE + ` at ` + lsnRE),
		kind: FindHistoryForkDetail, sev: SevInfo,
		explain: func(f *Finding, m []string) {
			f.Timeline, f.LSN = mustTLI(m[1]), mustLSN(m[2])
			f.Explanation = fmt.Sprintf("The primary left timeline %d at %s; anything a standby replayed on timeline %d beyond %s is not part of the primary's history.",
				f.Timeline, f.LSN, f.Timeline, f.LSN)
		},
	},
	{
		re:   regexp.MustCompile(`requested timeline ` + tliRE + ` is not a child of this server's history`),
		kind: FindNotAChild, sev: SevDiverged,
		explain: func(f *Finding, m []string) {
			f.Timeline = mustTLI(m[1])
			f.Explanation = fmt.Sprintf("This server was told to follow timeline %d, but its latest checkpoint lies past the point where timeline %d forked off its own timeline. "+
				"Timeline %d does not continue this server's history, so it refuses to start: it has diverged and must be rebuilt.",
				f.Timeline, f.Timeline, f.Timeline)
		},
	},
	{
		re:   regexp.MustCompile(`Latest checkpoint is at ` + lsnRE + ` on timeline ` + tliRE + `, but in the history of the requested timeline, the server forked off from that timeline at ` + lsnRE),
		kind: FindNotAChildDetail, sev: SevDiverged,
		explain: func(f *Finding, m []string) {
			f.LSN, f.Timeline, f.OtherLSN = mustLSN(m[1]), mustTLI(m[2]), mustLSN(m[3])
			f.Explanation = fmt.Sprintf("This server's latest checkpoint is at %s on timeline %d, past %s where the requested timeline left timeline %d: it replayed the old timeline too far.",
				f.LSN, f.Timeline, f.OtherLSN, f.Timeline)
		},
	},
	{
		re:   regexp.MustCompile(`recovery ended before configured recovery target was reached`),
		kind: FindTargetNotReached, sev: SevProblem,
		explain: func(f *Finding, m []string) {
			f.Explanation = "Recovery used up all the WAL it could find (in pg_wal and through restore_command) before it reached the configured recovery target, so the server stopped. " +
				"The WAL up to the target was not in the archive (yet), or the target lies beyond the end of WAL."
		},
	},
	{
		re:   regexp.MustCompile(`selected new timeline ID: ` + tliRE),
		kind: FindSelectedTimeline, sev: SevInfo,
		explain: func(f *Finding, m []string) {
			f.Timeline = mustTLI(m[1])
			f.Explanation = fmt.Sprintf("This server ended recovery and promoted itself onto a new timeline %d; from here on its WAL is timeline %d's. "+
				"Only one server may do this: a second one choosing %d makes two different timelines with the same number.", f.Timeline, f.Timeline, f.Timeline)
		},
	},
	{
		re:   regexp.MustCompile(`record with incorrect prev-link ` + lsnRE + ` at ` + lsnRE),
		kind: FindIncorrectPrevLink, sev: SevProblem,
		explain: func(f *Finding, m []string) {
			f.OtherLSN, f.LSN = mustLSN(m[1]), mustLSN(m[2])
			f.Explanation = fmt.Sprintf("The WAL record at %s points back to %s, which is not the record this server replayed last: the WAL it read continues a different history "+
				"(or is stale data at the end of WAL). Repeated while a standby waits, it means the standby's WAL and its source have diverged.", f.LSN, f.OtherLSN)
		},
	},
	{
		re:   regexp.MustCompile(`replication slot "([^"]*)" does not exist`),
		kind: FindSlotMissing, sev: SevProblem,
		explain: func(f *Finding, m []string) {
			f.Explanation = fmt.Sprintf("The standby's primary_slot_name is %q but the primary has no such slot (yet): streaming cannot start until the primary has it (select pg_create_physical_replication_slot('%s')).", m[1], strings.ReplaceAll(m[1], "'", "''"))
		},
	},
	{
		re:   regexp.MustCompile(`could not connect to the primary server: (.*)`),
		kind: FindCannotConnect, sev: SevProblem,
		explain: func(f *Finding, m []string) {
			why := strings.TrimSpace(m[1])
			if i := strings.LastIndex(why, "failed: "); i >= 0 {
				why = strings.TrimSpace(why[i+len("failed: "):])
			}
			why = strings.TrimSpace(strings.TrimPrefix(why, "FATAL:"))
			f.Explanation = fmt.Sprintf("The standby's wal receiver cannot connect to the primary its primary_conninfo names: %s. "+
				"It retries every few seconds and meanwhile replays only what the archive holds.", why)
		},
	},
	{
		re:   regexp.MustCompile(`restored log file "([^"]+)" from archive`),
		kind: FindRestored, sev: SevInfo,
		explain: func(f *Finding, m []string) {
			f.File = m[1]
			f.Timeline, _ = fileTimeline(f.File)
			if _, ok := ParseHistoryFileName(f.File); ok {
				f.Explanation = fmt.Sprintf("restore_command fetched %s: the server now knows timeline %d and where it forked.", f.File, f.Timeline)
				return
			}
			f.Explanation = fmt.Sprintf("restore_command fetched %s, a WAL segment of timeline %d, and recovery will replay it.", f.File, f.Timeline)
		},
	},
	{
		// cp's message (PostgreSQL's documented restore_command) and WAL-G's.
		re:   regexp.MustCompile(`cannot stat '([^']+)': No such file or directory|Archive '([^']+)' does not exist`),
		kind: FindMissingInArchive, sev: SevInfo, cmd: true,
		explain: func(f *Finding, m []string) {
			name := m[1]
			if name == "" {
				name = m[2]
			}
			f.File = strings.TrimSuffix(path.Base(name), ".lz4")
			f.Timeline, _ = fileTimeline(f.File)
			if _, ok := ParseHistoryFileName(f.File); ok {
				f.Explanation = fmt.Sprintf("The archive has no %s: no timeline %d exists (yet). Servers probe for the next timeline routinely, so this alone is normal.", f.File, f.Timeline)
				return
			}
			f.Explanation = fmt.Sprintf("The archive has no %s (timeline %d): it has not been archived yet, since a primary archives a segment only once it is full or switched. "+
				"Recovery then tries an older timeline's segment of the same number, or waits.", f.File, f.Timeline)
		},
	},
	{
		re:   regexp.MustCompile(`started streaming WAL from primary at ` + lsnRE + ` on timeline ` + tliRE),
		kind: FindStartedStreaming, sev: SevInfo,
		explain: func(f *Finding, m []string) {
			f.LSN, f.Timeline = mustLSN(m[1]), mustTLI(m[2])
			f.Explanation = fmt.Sprintf("The standby's wal receiver connected and asked for WAL from %s on timeline %d; whether the primary agrees shows on the next lines.", f.LSN, f.Timeline)
		},
	},
	{
		re:   regexp.MustCompile(`waiting for WAL to become available at ` + lsnRE),
		kind: FindWaitingForWAL, sev: SevInfo,
		explain: func(f *Finding, m []string) {
			f.LSN = mustLSN(m[1])
			f.Explanation = fmt.Sprintf("Replay stopped at %s: neither the archive nor streaming can supply the next WAL, so the standby retries every few seconds.", f.LSN)
		},
	},
	{
		re:   regexp.MustCompile(`consistent recovery state reached at ` + lsnRE),
		kind: FindConsistent, sev: SevInfo,
		explain: func(f *Finding, m []string) {
			f.LSN = mustLSN(m[1])
			f.Explanation = fmt.Sprintf("The restored backup became consistent at %s (the end of the backup). recovery_target = 'immediate' stops here, and a promotion forks the new timeline at this point.", f.LSN)
		},
	},
	{
		re:   regexp.MustCompile(`recovery stopping after reaching consistency|shutdown at recovery target`),
		kind: FindStopAtTarget, sev: SevInfo,
		explain: func(f *Finding, m []string) {
			f.Explanation = "Recovery reached its target (recovery_target = 'immediate': the consistency point) and acts on recovery_target_action: promote, pause or shut down."
		},
	},
}

// fileTimeline is the timeline of a WAL segment or history file name.
func fileTimeline(name string) (uint32, bool) {
	if t, ok := ParseHistoryFileName(name); ok {
		return t, true
	}
	if t, _, ok := ParseWALFileName(name); ok {
		return t, true
	}
	return 0, false
}

// ExplainLogLine recognises a PostgreSQL (or restore_command) log line that
// matters for this bug and explains it. ok is false for other lines. A
// rule for PostgreSQL's messages never matches command output, and the
// other way round, so an archiver's words cannot pass for the server's.
func ExplainLogLine(line string) (Finding, bool) {
	fromCmd := ParseLogLine(line).Origin == OriginCommand
	for _, r := range logRules {
		if r.cmd != fromCmd {
			continue
		}
		m := r.re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		f := Finding{Kind: r.kind, Severity: r.sev, Line: strings.TrimSpace(line), FromCommand: fromCmd}
		r.explain(&f, m)
		return f, true
	}
	return Finding{}, false
}

// ExplainLog returns the findings of node's log lines, in order.
func ExplainLog(node string, lines []string) []Finding {
	var out []Finding
	for _, l := range lines {
		if f, ok := ExplainLogLine(l); ok {
			f.Node = node
			out = append(out, f)
		}
	}
	return out
}

// logPrefix is PostgreSQL's default log_line_prefix ('%m [%p] ').
var logPrefix = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [A-Za-z0-9+\-]+ \[\d+\] `)

// StripLogPrefix drops the timestamp and pid of a default-prefixed log line,
// leaving "FATAL:  message", which reads better in a narrow panel.
func StripLogPrefix(line string) string {
	return strings.TrimSpace(logPrefix.ReplaceAllString(strings.TrimSpace(line), ""))
}
