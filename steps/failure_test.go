package steps

import (
	"errors"
	"strings"
	"testing"
)

// A failure names the failing program's own error, not only its exit
// status; the hint after it is not taken for the error.
func TestWithProgramLine(t *testing.T) {
	initdb := []string{
		"$ /usr/lib/postgresql/15/bin/initdb -D /lab/primary-data --username=postgres",
		"The files belonging to this database system will be owned by user \"postgres\".",
		`initdb: error: directory "/lab/primary-data" exists but is not empty`,
		`initdb: hint: If you want to create a new database system, either remove or empty the directory "/lab/primary-data".`,
	}
	base := errors.New("run initdb: exit status 1")
	err := withProgramLine(base, initdb)
	want := `initdb: error: directory "/lab/primary-data" exists but is not empty (run initdb: exit status 1)`
	if err.Error() != want || !errors.Is(err, base) {
		t.Fatalf("got %q, want %q", err, want)
	}
	if err := withProgramLine(errors.New("sh -c x exited with code 3"), []string{"$ sh -c x", "boom"}); err.Error() != "sh -c x exited with code 3; its last line: boom" {
		t.Fatalf("unmarked: %q", err)
	}
	// Errors that are not a program's exit status are left as they are.
	if err := withProgramLine(errors.New("the primary did not come up within 1m"), initdb); strings.Contains(err.Error(), "initdb") {
		t.Fatalf("a timeout got a program line: %q", err)
	}
}

func TestProgramLineNotAddedToAnErrorThatSaysWhy(t *testing.T) {
	base := errors.New(`primary exited with code 1: FATAL: unrecognized configuration parameter "x"`)
	out := []string{"replica: not waited for any longer, the other server failed"}
	if err := withProgramLine(base, out); err.Error() != base.Error() {
		t.Fatalf("got %q, want the error as it was", err)
	}
}
