package steps

import (
	"strings"
	"testing"

	"walstep/cluster"
)

// The step IDs are what users type (--break, hooks/after-ID.*) and read in
// messages: each is unique and they follow the seed's numbering.
func TestPlaybookStepIDs(t *testing.T) {
	pb := Playbook(&Env{Lab: &cluster.Lab{Dir: t.TempDir()}})
	var ids []string
	seen := map[string]bool{}
	for _, st := range pb {
		if seen[st.ID] {
			t.Errorf("step ID %s twice", st.ID)
		}
		seen[st.ID] = true
		ids = append(ids, st.ID)
		if st.Run == nil || st.Title == "" {
			t.Errorf("step %s has no Run or no title", st.ID)
		}
	}
	want := "0 1 2 3 4 4a 4b 4c 4d 4e 4f 5 6 6b 7 8 9 10 11 12 13 F1 F2 F3 F4 F5 F6 P"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("step IDs\n got %s\nwant %s", got, want)
	}
}
