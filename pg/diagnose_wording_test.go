package pg

import (
	"strings"
	"testing"
)

// The diagnosis of the default lab claims no timing it cannot know ("had
// already replayed": the replica went past the fork when it restarted),
// offers no pg_rewind (it fails on initdb's defaults: no data checksums,
// no wal_log_hints), and states its cause once, in Cause.
func TestDiagnoseWordingDefaultLab(t *testing.T) {
	d := Diagnose(DiagnoseInput{Snapshot: loadSnap(t, "default_end.json")})
	if d.Cause == "" {
		t.Fatal("no cause")
	}
	for _, bad := range []string{"already", "pg_rewind", "rewound"} {
		if strings.Contains(d.Explanation, bad) {
			t.Errorf("explanation says %q: %s", bad, d.Explanation)
		}
	}
	if !strings.Contains(d.Explanation, "has replayed timeline 1 up to 0/3000000, past that point") {
		t.Errorf("explanation: %s", d.Explanation)
	}
	for _, e := range d.Evidence {
		if strings.Contains(e, d.Cause) || strings.HasPrefix(e, "cause:") {
			t.Errorf("the cause is repeated in the evidence: %q", e)
		}
	}
}
