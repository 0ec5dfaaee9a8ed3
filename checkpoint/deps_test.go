package checkpoint

import (
	"strings"
	"testing"

	"walstep/playbook"
	"walstep/steps"
)

func seedSteps(t *testing.T) (*playbook.Doc, []steps.Step) {
	t.Helper()
	doc := playbook.Seed()
	return doc, steps.Bind(&steps.Env{}, doc)
}

// The seed keeps its checkpoints before the steps that start servers
// after a stretch with none running: 3 and 12.
func TestAtServerStartsSeed(t *testing.T) {
	doc, all := seedSteps(t)
	var got []string
	for i := range all {
		if AtServerStarts(doc, all, i) {
			got = append(got, all[i].ID)
		}
	}
	if strings.Join(got, ",") != "3,12" {
		t.Errorf("checkpoints before %v, want 3,12", got)
	}
	if p := Position(doc, all, indexOf(all, "13")); all[p].ID != "12" {
		t.Errorf("--from 13 starts at %s, want 12 (a server runs before 13)", all[p].ID)
	}
}

func indexOf(all []steps.Step, id string) int {
	for i, s := range all {
		if s.ID == id {
			return i
		}
	}
	return -1
}

// A conf read by step 8 is part of what the state before 12 depends on,
// not of the state before 5; a hook counts only when it runs in the prefix.
func TestPrefixDepsNamesTheChangedPart(t *testing.T) {
	doc, _ := seedSteps(t)
	files := map[string]string{"primary_restore.conf": "a", "wal-g.json": "{}", "hooks/after-4c.primary.sql": "select 1;", "hooks/after-13.primary.sql": "x"}
	read := func(rel string) []byte {
		if v, ok := files[rel]; ok {
			return []byte(v)
		}
		return nil
	}
	prefix := func(id string) []playbook.Step {
		for i, s := range doc.Steps {
			if s.ID == id {
				return doc.Steps[:i]
			}
		}
		t.Fatalf("no step %s", id)
		return nil
	}
	hooks := []string{"hooks/after-4c.primary.sql", "hooks/after-13.primary.sql"}
	before12, before5 := PrefixDeps("local", prefix("12"), hooks), PrefixDeps("local", prefix("5"), hooks)
	w12, w5 := before12.Parts(read), before5.Parts(read)
	files["primary_restore.conf"] = "b"
	files["hooks/after-13.primary.sql"] = "y"
	if why := Changed(w12, before12.Parts(read)); why != "file primary_restore.conf changed" {
		t.Errorf("before 12: %q", why)
	}
	if why := Changed(w5, before5.Parts(read)); why != "" {
		t.Errorf("before 5 depends on the edit: %q", why)
	}
	files["hooks/after-4c.primary.sql"] = "select 2;"
	if why := Changed(w5, before5.Parts(read)); why != "file hooks/after-4c.primary.sql changed" {
		t.Errorf("before 5 after a hook edit: %q", why)
	}
	if Key(w12) == Key(before12.Parts(read)) {
		t.Error("the key did not change")
	}
}
