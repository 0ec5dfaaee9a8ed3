package playbook

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

const front = "---\nplaybook: t\nnodes:\n  primary: primary\n  replica: standby of primary\n---\n"

// step writes a step heading and its walstep block.
func step(id, title string, actions ...string) string {
	return "\n## " + id + ". " + title + "\n\n```walstep\n" + strings.Join(actions, "\n") + "\n```\n"
}

// Each class of mistake is refused with one line naming file:line, the
// line the mistake is on.
func TestValidationNamesFileAndLine(t *testing.T) {
	for _, c := range []struct {
		name, src string
		line      int
		says      string
	}{
		{"unknown action", front + step("1", "A", "initdb primary", "frobnicate primary"), 12, `unknown action "frobnicate"`},
		{"undeclared node", front + step("1", "A", "initdb standby2"), 11, `node "standby2" is not declared`},
		{"duplicate ID", front + step("1", "A", "initdb primary") + step("1", "B", "say hi"), 14, "duplicate step ID 1 (first at line 8)"},
		{"missing ID", front + "\n## Start the primary\n\n```walstep\nstart primary\n```\n", 10, "missing ID"},
		{"block before any step", front + "\n```walstep\nsay hi\n```\n", 8, "missing ID"},
		{"wait without deadline", front + step("1", "A", "start primary", "wait promoted primary", "stop primary"), 12, "no deadline"},
		{"started, never stopped", front + step("1", "A", "start primary", "wait promoted primary 60s"), 11, "step 1 starts primary and no later step stops it"},
		{"stopped before started", front + step("1", "A", "stop primary") + step("2", "B", "start primary"), 17, "step 2 starts primary"},
		{"bad deadline", front + step("1", "A", "wait ready primary soon"), 11, `deadline "soon"`},
		{"unknown variable", front + step("1", "A", `append primary postgresql.conf "x = ${nope}"`), 11, "unknown variable ${nope}"},
		{"no walstep block", front + "\n## 1. A\n\nprose only\n" + step("2", "B", "say hi"), 8, "step 1 has no walstep block"},
		{"two blocks", front + step("1", "A", "say a") + "\n```walstep\nsay b\n```\n", 14, "second walstep block"},
		{"sub-step under nothing", front + "\n### 4a. A\n\n```walstep\nsay a\n```\n", 8, "under no ## step"},
		{"unclosed fence", front + "\n## 1. A\n\n```walstep\nsay a\n", 10, "never closed"},
		{"unknown front key", "---\nplaybook: t\ncolour: blue\n---\n" + step("1", "A", "say a"), 3, `unknown key "colour"`},
		{"no front matter", step("1", "A", "say a"), 1, "no front matter"},
		{"stop names a missing step", "---\nnodes:\n  primary: primary\npresent-stops: 1 9\n---\n" + step("1", "A", "say a"), 4, "names step 9"},
		{"unusable node name", "---\nnodes:\n  Standby_3: primary\n---\n" + step("1", "A", "say a"), 3, `node name "Standby_3"`},
		{"five nodes", "---\nnodes:\n  a: primary\n  b: standby of a\n  c: standby of a\n  d: standby of a\n  e: standby of a\n---\n" + step("1", "A", "say a"), 7, "at most 4 nodes"},
		{"standbys in a circle", "---\nnodes:\n  a: standby of b\n  b: standby of a\n---\n" + step("1", "A", "say a"), 3, "follows itself"},
		{"host of an undeclared node", front + step("1", "A", `append replica postgresql.conf "primary_conninfo = 'host=${host:c}'"`), 11, "${host:c}"},
		{"streaming with no upstream", front + step("1", "A", "wait streaming primary 9s"), 11, "follows no node"},
		{"unterminated quote", front + step("1", "A", `say "hi`), 11, "unterminated quote"},
		{"bad conf file", front + step("1", "A", `append primary recovery.conf "x = 1"`), 11, `"recovery.conf"`},
		{"path as a name", front + step("1", "A", `copy-conf primary ../etc/passwd`), 11, "name a file, not a path"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("pb.md", []byte(c.src))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("want an *Error, got %v", err)
			}
			msg := err.Error()
			if want := "pb.md:" + strconv.Itoa(c.line) + ": "; !strings.HasPrefix(msg, want) || !strings.Contains(msg, c.says) || strings.Contains(msg, "\n") {
				t.Errorf("got  %q\nwant %q… saying %q, on one line", msg, want, c.says)
			}
		})
	}
}

// A reset lab step stops every server at the next pass, so a playbook
// with one may leave servers running at its end (the seed does).
func TestResetLabCountsAsStoppingEverything(t *testing.T) {
	src := front + step("0", "Reset", "reset lab") + step("1", "A", "initdb primary", "start primary", "wait ready primary 5s")
	if _, err := Parse("pb.md", []byte(src)); err != nil {
		t.Fatal(err)
	}
}

// A person's prose, other headings and other fenced blocks around the
// steps are read past: only step headings and walstep blocks are steps.
func TestProseAndOtherHeadingsAreIgnored(t *testing.T) {
	src := front + "\n# Title\n\nSome prose.\n\n```sh\nnot a command of any step\n```\n\n## Background\n\nMore.\n" +
		"\n## 1. First\n\nseed's:\n\n```sh\necho one\n```\n\n**Watch:** a\nnote on two lines\n\n**In the debugger:** press i\n\n```walstep\n# a comment\nnumber 1x\nsay \"hi # not a comment\"  # a comment\n```\n\n### 1a. Sub\n\n~~~walstep\nsay sub\n~~~\n"
	d, err := Parse("pb.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Steps) != 2 {
		t.Fatalf("steps %+v", d.Steps)
	}
	s := d.Steps[0]
	if s.Label != "seed's" {
		t.Errorf("label %q", s.Label)
	}
	if s.ID != "1" || s.Number != "1x" || s.Title != "First" || s.Command != "echo one" || s.Watch != "a note on two lines" || s.Hint != "press i" {
		t.Errorf("step 1: %+v", s)
	}
	if len(s.Actions) != 1 || s.Actions[0].Args[0] != "hi # not a comment" || s.Actions[0].Display() != `say "hi # not a comment"` {
		t.Errorf("actions %+v", s.Actions)
	}
	if d.Steps[1].Parent != "1" || d.Steps[1].Number != "1a" {
		t.Errorf("sub-step %+v", d.Steps[1])
	}
}

// The display form of every action reads back as the same action.
func TestDisplayReadsBack(t *testing.T) {
	for _, s := range Seed().Steps {
		for _, a := range s.Actions {
			b, err := parseAction(a.Display(), a.Line)
			if err != nil || b.Display() != a.Display() || strings.Join(b.Args, "\x00") != strings.Join(a.Args, "\x00") {
				t.Errorf("%q reads back as %q (%v)", a.Display(), b.Display(), err)
			}
		}
	}
}

// The seed's document: its steps, what explore may share of it, its
// presenter stops.
func TestSeedDocument(t *testing.T) {
	d := Seed()
	var ids []string
	for _, s := range d.Steps {
		ids = append(ids, s.ID)
	}
	if got, want := strings.Join(ids, " "), "0 1 2 3 4 4a 4b 4c 4d 4e 4f 5 6 6b 7 8 9 10 11 12 13 F1 F2 F3 F4 F5 F6 P"; got != want {
		t.Errorf("IDs %s", got)
	}
	for _, s := range d.Steps {
		if s.ID == "P" {
			// walstep's own write: no command of the seed's to show.
			if s.Command != "" || s.Watch == "" || s.Number != "-" {
				t.Errorf("step P: command %q, watch %q, number %q", s.Command, s.Watch, s.Number)
			}
			continue
		}
		if s.Label != "seed's" || s.Command == "" || s.Watch == "" {
			t.Errorf("step %s: label %q, command %q, watch %q", s.ID, s.Label, s.Command, s.Watch)
		}
	}
	if got := strings.Join(d.PresentStops, " "); got != "12 F2 F6" {
		t.Errorf("present stops %s", got)
	}
	if n := len(Builtins()); n < 1 {
		t.Errorf("%d built-ins", n)
	}
}

// FuzzParse: no input makes Parse panic or hang, an error is one line
// naming the file, and a document that parses has steps with IDs and
// actions whose display forms read back.
func FuzzParse(f *testing.F) {
	// The seed's first steps: the fuzzer minimises a whole 12 KB document
	// too slowly to explore much else.
	seed, _ := BuiltinSource("seed")
	f.Add(seed[:strings.Index(string(seed), "## 4.")])
	f.Add([]byte(front + step("1", "A", "start primary replica", "wait log primary \"ready\" 1s", "stop primary immediate", "stop replica")))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("---\nnodes:\n  primary: primary\n---\n## 1. x\n```walstep\nsay \"\\\"\"\n```"))
	f.Fuzz(func(t *testing.T, src []byte) {
		d, err := Parse("f.md", src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.md:") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q", err)
			}
			return
		}
		for _, s := range d.Steps {
			if s.ID == "" || s.Title == "" || len(s.Actions) == 0 && s.Number == "" {
				t.Fatalf("step %+v", s)
			}
			for _, a := range s.Actions {
				if _, err := parseAction(a.Display(), 1); err != nil {
					t.Fatalf("%q does not read back: %v", a.Display(), err)
				}
			}
		}
	})
}

// The seed's runs may share steps 0-7: step 8 is the first to read a
// conf a variant changes, and no server runs after 7.
func TestSeedSharedPrefix(t *testing.T) {
	d := Seed()
	n := d.SharedPrefix(func(f string) bool { return f == ArchiverConfig })
	if n != d.Index("8") {
		t.Fatalf("shared prefix ends before step %s, want 8", d.Steps[n].ID)
	}
	if got := d.DataDirsAfter(n); got["primary"] != "backup fetch" || got["replica"] != "backup fetch" {
		t.Errorf("data dirs after the prefix: %v", got)
	}
	// A prefix is cut back to where no server runs.
	src := front + step("0", "R", "reset lab") + step("1", "I", "initdb primary") + step("2", "S", "start primary", "wait ready primary 5s") + step("3", "C", "copy-conf primary x.conf")
	d2, err := Parse("t.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if n := d2.SharedPrefix(func(f string) bool { return f == ArchiverConfig }); n != 2 {
		t.Errorf("prefix %d, want 2 (the primary runs after step 2)", n)
	}
	// And to where no backup waits to be fetched: a backup carries its
	// lab's archive_command.
	src = front + step("0", "R", "reset lab") + step("1", "I", "initdb primary") + step("2", "B", "start primary", "backup push primary", "stop primary") +
		step("3", "F", "backup fetch replica") + step("4", "C", "copy-conf replica x.conf")
	d3, err := Parse("t.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if n := d3.SharedPrefix(func(f string) bool { return f == ArchiverConfig }); n != 4 {
		t.Errorf("prefix %d, want 4 (to after the fetch)", n)
	}
	d4, _ := Parse("t.md", []byte(strings.Replace(src, "backup fetch replica", "say nofetch", 1)))
	if n := d4.SharedPrefix(func(f string) bool { return f == ArchiverConfig }); n != 2 {
		t.Errorf("prefix %d, want 2 (the backup of step 2 is never fetched in it)", n)
	}
}
