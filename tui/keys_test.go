package tui

import (
	"strings"
	"testing"
)

// tab is offered only where it does something: the inspect view (the other
// server), not the archive and diagnosis views, which show both.
func TestViewFooterOffersTabOnlyWhereItWorks(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = polled(m, freshSnap())
	for _, tc := range []struct {
		key  string
		tab  bool
		name string
	}{{"a", false, "archive"}, {"d", false, "diagnosis"}, {"i", true, "inspect"}} {
		mm, _ := press(m, tc.key)
		lines := strings.Split(mm.View(), "\n")
		footer := lines[len(lines)-1]
		if got := strings.Contains(footer, "tab"); got != tc.tab {
			t.Errorf("%s view footer %q: tab offered %v, want %v", tc.name, footer, got, tc.tab)
		}
		if strings.Contains(lines[1], "tab:") != tc.tab {
			t.Errorf("%s view title %q", tc.name, lines[1])
		}
	}
}
