package pg

import (
	"strings"
	"testing"
)

// --expect takes exactly the verdicts Diagnose gives.
func TestParseVerdict(t *testing.T) {
	for _, v := range Verdicts {
		if got, err := ParseVerdict(string(v)); err != nil || got != v {
			t.Errorf("%s: %s, %v", v, got, err)
		}
	}
	_, err := ParseVerdict("diverge")
	if err == nil || !strings.Contains(err.Error(), "diverged, healthy, stalled, unknown") {
		t.Errorf("a typo: %v", err)
	}
}
