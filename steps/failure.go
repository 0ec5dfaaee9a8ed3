package steps

import (
	"fmt"
	"regexp"
	"strings"
)

// ProgramError is a step's error with the failing program's own last
// error line from the step's output ("initdb: error: directory … exists
// but is not empty"): the exit status alone says that it failed, not why.
type ProgramError struct {
	Line string // the program's line, as in the output
	Err  error
	// Marked is false when no line looked like an error and Line is
	// just the last the program wrote.
	Marked bool
}

func (e *ProgramError) Error() string {
	if e.Marked {
		return fmt.Sprintf("%s (%v)", e.Line, e.Err)
	}
	return fmt.Sprintf("%v; its last line: %s", e.Err, e.Line)
}

func (e *ProgramError) Unwrap() error { return e.Err }

// exitMark is how a backend reports a program that exited non-zero.
var exitMark = regexp.MustCompile(`exit status \d+|exited with code \d+`)

// errorMark finds the lines PostgreSQL's programs, psql, WAL-G and shells
// write when they fail.
var errorMark = regexp.MustCompile(`(?i)(^|[\s:])(error|fatal|panic)[:\s]|no such file|not found|permission denied|cannot|could not`)

// withProgramLine adds the program's own last error line in output to
// err, when err says a program exited non-zero and does not quote it.
func withProgramLine(err error, output []string) error {
	if err == nil || !exitMark.MatchString(err.Error()) {
		return err
	}
	line, marked := lastErrorLine(output)
	if line == "" || strings.Contains(err.Error(), line) {
		return err
	}
	// A line that does not read as an error adds nothing to an error that
	// already says why after its exit status (a wait that quotes the
	// server's FATAL): it would only be whatever was written last.
	if m := exitMark.FindStringIndex(err.Error()); !marked && strings.TrimLeft(err.Error()[m[1]:], " :;,.") != "" {
		return err
	}
	return &ProgramError{Line: line, Err: err, Marked: marked}
}

// lastErrorLine is the last line of output that reads as an error, else
// the last line written that is not the command walstep echoed ("$ …").
func lastErrorLine(output []string) (string, bool) {
	last := ""
	for i := len(output) - 1; i >= 0; i-- {
		l := strings.TrimSpace(output[i])
		if l == "" || strings.HasPrefix(l, "$ ") {
			continue
		}
		if strings.Contains(strings.ToLower(l), "hint:") {
			continue // the advice after the error, not the error
		}
		if errorMark.MatchString(l) {
			return l, true
		}
		if last == "" {
			last = l
		}
	}
	return last, false
}
