package cast

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeClock advances only when told to.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock               { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }
func readAll(t *testing.T, b []byte) (Header, []Event) {
	t.Helper()
	h, ev, err := Read(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("read back: %v\n%s", err, b)
	}
	return h, ev
}

func TestHeaderAndEvents(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	r, err := New(&buf, Options{Width: 100, Height: 30, Title: "walstep demo", Env: map[string]string{"TERM": "xterm-256color"}, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	c.add(250 * time.Millisecond)
	r.Output([]byte("\x1b[?1049hhello <&>"))
	c.add(time.Second)
	r.Resize(120, 40)
	r.Resize(120, 40) // same size: no event
	r.Output([]byte("world\r\n"))
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	h, ev := readAll(t, buf.Bytes())
	if h.Version != 2 || h.Width != 100 || h.Height != 30 || h.Timestamp != 1_800_000_000 || h.Title != "walstep demo" || h.Env["TERM"] != "xterm-256color" || h.IdleLimit != 2 {
		t.Fatalf("header: %+v", h)
	}
	want := []Event{{0.25, "o", "\x1b[?1049hhello <&>"}, {1.25, "r", "120x40"}, {1.25, "o", "world\r\n"}}
	if len(ev) != len(want) {
		t.Fatalf("events: %+v", ev)
	}
	for i := range want {
		if ev[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, ev[i], want[i])
		}
	}
	if w, h := r.Size(); w != 120 || h != 40 {
		t.Errorf("size %dx%d", w, h)
	}
	// One line per event, readable by a human and by asciinema.
	if !strings.Contains(buf.String(), `[0.250000, "o", "\u001b[?1049hhello <&>"]`+"\n") {
		t.Errorf("event line not as asciinema writes it:\n%s", buf.String())
	}
}

func TestIdleStretchesAreCapped(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	r, err := New(&buf, Options{Width: 80, Height: 24, IdleLimit: 3 * time.Second, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	for _, gap := range []time.Duration{time.Second, 10 * time.Minute, 500 * time.Millisecond, 45 * time.Second} {
		c.add(gap)
		r.Output([]byte("x"))
	}
	c.t = c.t.Add(-time.Hour) // the wall clock steps back
	r.Output([]byte("y"))
	_ = r.Close()
	h, ev := readAll(t, buf.Bytes())
	if h.IdleLimit != 3 {
		t.Errorf("idle_time_limit %v, want 3", h.IdleLimit)
	}
	want := []float64{1, 4, 4.5, 7.5, 7.5}
	for i, e := range ev {
		if e.Time != want[i] {
			t.Errorf("event %d at %v, want %v", i, e.Time, want[i])
		}
	}

	// A negative limit keeps pauses as they were.
	buf.Reset()
	c = newClock()
	r, _ = New(&buf, Options{Width: 80, Height: 24, IdleLimit: -1, Now: c.now})
	c.add(time.Minute)
	r.Output([]byte("x"))
	h, ev = readAll(t, buf.Bytes())
	if h.IdleLimit != 0 || ev[0].Time != 60 {
		t.Errorf("uncapped: limit %v, time %v", h.IdleLimit, ev[0].Time)
	}
}

func TestCharacterCutByAWriteStaysWhole(t *testing.T) {
	var buf bytes.Buffer
	r, err := New(&buf, Options{Width: 80, Height: 24})
	if err != nil {
		t.Fatal(err)
	}
	s := []byte("P ──● 0/2000100")
	r.Output(s[:4]) // "P " and the first byte of "─"
	r.Output(s[4:6])
	r.Output(s[6:])
	r.Output([]byte{0xe2}) // cut at the very end of the session
	_ = r.Close()
	_, ev := readAll(t, buf.Bytes())
	var got strings.Builder
	for _, e := range ev {
		got.WriteString(e.Data)
	}
	if got.String() != "P ──● 0/2000100\uFFFD" {
		t.Fatalf("replayed text %q", got.String())
	}
	if strings.Contains(ev[0].Data, "\uFFFD") || ev[0].Data != "P " {
		t.Errorf("first event %q", ev[0].Data)
	}
}

func TestCreateNeverReplacesAFile(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.cast")
	if err := os.WriteFile(old, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.cast")
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{old, link, dir} {
		if _, err := Create(p, Options{Width: 80, Height: 24}); !errors.Is(err, ErrExists) {
			t.Errorf("Create(%s): %v, want ErrExists", p, err)
		}
	}
	if b, _ := os.ReadFile(old); string(b) != "keep me" {
		t.Errorf("existing file changed: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "elsewhere")); err == nil {
		t.Errorf("a link was followed")
	}
	if _, err := Create(filepath.Join(dir, "no-such-dir", "x.cast"), Options{Width: 80, Height: 24}); err == nil {
		t.Errorf("Create in a missing dir succeeded")
	}

	// Asked to (--force), a regular file is replaced; a link or a
	// directory still is not.
	for _, p := range []string{link, dir} {
		if _, err := Create(p, Options{Width: 80, Height: 24, Replace: true}); err == nil {
			t.Errorf("Create(%s, Replace) succeeded", p)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "elsewhere")); err == nil {
		t.Errorf("a link was followed with Replace")
	}
	r, err := Create(old, Options{Width: 80, Height: 24, Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	b, _ := os.ReadFile(old)
	if _, ev, err := Read(bytes.NewReader(b)); err != nil || len(ev) != 0 {
		t.Errorf("replaced file: %v, %d events:\n%s", err, len(ev), b)
	}
	np := filepath.Join(dir, "new.cast")
	r, err = Create(np, Options{Width: 80, Height: 24})
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	if st, _ := os.Stat(np); st.Mode().Perm() != 0o600 {
		t.Errorf("a recording is %v, want 0600", st.Mode().Perm())
	}
}

func TestParseSize(t *testing.T) {
	if w, h, err := ParseSize("100x30"); err != nil || w != 100 || h != 30 {
		t.Errorf("100x30: %d %d %v", w, h, err)
	}
	for _, s := range []string{"", "100", "x30", "0x30", "ax b"} {
		if _, _, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q) accepted", s)
		}
	}
}

func TestReadRejectsACutLine(t *testing.T) {
	in := "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.1, \"o\", \"ab\"]\n[0.2, \"o\", \"c"
	_, ev, err := Read(strings.NewReader(in))
	if err == nil || len(ev) != 1 {
		t.Fatalf("cut line: %v, %d events", err, len(ev))
	}
	if _, _, err := Read(strings.NewReader(`{"version": 1}`)); err == nil {
		t.Errorf("version 1 accepted")
	}
}

// A recording survives the death of the process that writes it: each event
// is in the file as soon as it happens, not at Close.
func TestRecordingSurvivesACrash(t *testing.T) {
	if p := os.Getenv("CAST_CRASH_FILE"); p != "" {
		r, err := Create(p, Options{Width: 80, Height: 24})
		if err != nil {
			os.Exit(3)
		}
		r.Output([]byte("before the crash\r\n"))
		r.Resize(90, 30)
		r.Output([]byte("last words"))
		os.Exit(2) // no Close, no flush
	}
	p := filepath.Join(t.TempDir(), "crash.cast")
	cmd := exec.Command(os.Args[0], "-test.run=^TestRecordingSurvivesACrash$")
	cmd.Env = append(os.Environ(), "CAST_CRASH_FILE="+p)
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("child: %v", err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	_, ev := readAll(t, b)
	if len(ev) != 3 || ev[2].Data != "last words" || ev[1].Data != "90x30" {
		t.Fatalf("events after the crash: %+v", ev)
	}
}

// --record EXISTING --force makes a new recording, 0600, not the old
// file truncated with its old mode.
func TestCreateReplaceIsANewFile0600(t *testing.T) {
	p := filepath.Join(t.TempDir(), "old.cast")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := p + ".other"
	if err := os.Link(p, other); err != nil {
		t.Fatal(err)
	}
	r, err := Create(p, Options{Width: 80, Height: 24, Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("replaced recording has mode %v, want 0600", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(other); string(b) != "old" {
		t.Errorf("the old file was written into: %q", b)
	}
}

// A marker is an "m" event at its time, between the output around it, and
// a character cut by the output before it stays whole.
func TestMarkerEvents(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	r, err := New(&buf, Options{Width: 80, Height: 24, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	c.add(time.Second)
	r.Output([]byte("a\xc3"))
	r.Marker("step 12 · Start both servers at once")
	c.add(time.Second)
	r.Output([]byte("\xa9"))
	r.Marker(`verdict: diverged "quoted"`)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	_, ev := readAll(t, buf.Bytes())
	want := []Event{{1, "o", "a"}, {1, "m", "step 12 · Start both servers at once"}, {2, "o", "é"}, {2, "m", `verdict: diverged "quoted"`}}
	if len(ev) != len(want) {
		t.Fatalf("events: %+v", ev)
	}
	for i := range want {
		if ev[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, ev[i], want[i])
		}
	}
}
