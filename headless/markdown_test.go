package headless

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"walstep/cluster"
	"walstep/playbook"
	"walstep/steps"
)

// The Markdown report shows each hook as its step read it when it
// started, which is what ran: not the file as edited since, and not a
// hook that never ran.
func TestMarkdownShowsHooksAsRun(t *testing.T) {
	lab, err := cluster.InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(lab.Path(cluster.HooksDir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(lab.Path(cluster.HooksDir), 0o755); err != nil {
		t.Fatal(err)
	}
	write("after-13.primary.sql", "select 'as run';\n")
	write("after-F6.replica.sql", "select 'never ran';\n")
	l, err := cluster.NewLocal(cluster.LocalOptions{Lab: lab, StopTimeout: 10 * time.Second})
	if err != nil {
		t.Skipf("NewLocal: %v", err)
	}
	env := &steps.Env{Lab: lab, Backend: l, Archiver: cluster.CP{}}
	s := &Session{Lab: lab, Backend: l, Archiver: cluster.CP{}, Env: env, Doc: playbook.Seed()}
	hooks, _, err := steps.FindHooks(lab, s.Bind(s.Doc))
	if err != nil || len(hooks) != 2 {
		t.Fatalf("hooks: %v %v", hooks, err)
	}
	s.Steps = s.WithHooks(hooks)
	started := false
	for _, st := range s.Steps {
		if st.Reload != nil && strings.Contains(st.Title, "after-13") {
			st.Reload() // what the Runner does as the step starts
			started = true
		}
	}
	if !started {
		t.Fatal("no hook step after 13")
	}
	write("after-13.primary.sql", "select 'edited later';\n")

	path := filepath.Join(t.TempDir(), "report.md")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := WriteMarkdown(ctx, s, Report{Lab: lab.Dir}, path, false, false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	if !strings.Contains(md, "`hooks/after-13.primary.sql`:\n\n```sql\nselect 'as run';\n```") {
		t.Errorf("the report does not show the hook as it ran:\n%s", md)
	}
	// The lab files listed are those the playbook's steps read, in the
	// order they read them.
	a, b2, c := strings.Index(md, "`wal-g.json`:"), strings.Index(md, "`primary_restore.conf`:"), strings.Index(md, "`replica_standby.conf`:")
	if a < 0 || b2 < a || c < b2 {
		t.Errorf("the lab files the seed reads, in its order: at %d, %d, %d:\n%s", a, b2, c, md)
	}
	for _, not := range []string{"edited later", "never ran", "after-F6"} {
		if strings.Contains(md, not) {
			t.Errorf("the report shows %q:\n%s", not, md)
		}
	}
}
