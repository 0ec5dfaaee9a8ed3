package cast

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"walstep/outfile"
)

// DefaultIdleLimit is how long the longest pause in a recording plays.
const DefaultIdleLimit = 2 * time.Second

// Header is the first line of an asciicast v2 file.
type Header struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp,omitempty"` // Unix seconds of the start
	Title     string            `json:"title,omitempty"`
	IdleLimit float64           `json:"idle_time_limit,omitempty"` // seconds
	Env       map[string]string `json:"env,omitempty"`
}

// Options describe a new recording.
type Options struct {
	Width, Height int
	Title         string
	// IdleLimit caps each pause between two events in the file; 0 means
	// DefaultIdleLimit, a negative value keeps pauses as they were.
	IdleLimit time.Duration
	Env       map[string]string // e.g. TERM, shown by players
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Replace lets Create truncate an existing regular file (the user
	// asked, --force); a link or anything else is still refused.
	Replace bool
}

// Recorder writes events to an asciicast v2 stream as they arrive. It is
// safe for concurrent use. A write error is kept (see Err) and ends the
// recording, never the program being recorded.
type Recorder struct {
	mu      sync.Mutex
	w       io.Writer
	closer  io.Closer
	now     func() time.Time
	idle    time.Duration
	last    time.Time     // wall time of the previous event
	at      time.Duration // time of the previous event in the file
	pending []byte        // the start of a UTF-8 sequence cut by a write
	width   int
	height  int
	err     error
	line    bytes.Buffer
}

// ErrExists is returned by Create for a path that is already there:
// a recording never replaces a file unless asked to.
var ErrExists = outfile.ErrExists

// Create starts a recording in a new file at path, readable by its owner
// alone (a session can show what a user would not publish). It refuses a
// path that exists (a file, a directory or a link), so nothing is
// overwritten or followed, unless o.Replace allows replacing a regular
// file with a new one.
func Create(path string, o Options) (*Recorder, error) {
	f, err := outfile.Create(path, o.Replace)
	if err != nil {
		return nil, fmt.Errorf("create recording: %w", err)
	}
	r, err := New(f, o)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// New starts a recording on w and writes the header.
func New(w io.Writer, o Options) (*Recorder, error) {
	if o.Width <= 0 || o.Height <= 0 {
		return nil, fmt.Errorf("start recording: terminal size %dx%d", o.Width, o.Height)
	}
	r := &Recorder{w: w, now: o.Now, idle: o.IdleLimit, width: o.Width, height: o.Height}
	if r.now == nil {
		r.now = time.Now
	}
	if r.idle == 0 {
		r.idle = DefaultIdleLimit
	}
	r.last = r.now()
	h := Header{Version: 2, Width: o.Width, Height: o.Height, Timestamp: r.last.Unix(), Title: o.Title, Env: o.Env}
	if r.idle > 0 {
		h.IdleLimit = r.idle.Seconds()
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode recording header: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("write recording header: %w", err)
	}
	return r, nil
}

// Output records bytes written to the terminal. A UTF-8 sequence cut at
// the end of p is kept for the next call, since an event's text must be
// whole characters.
func (r *Recorder) Output(p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	data := append(r.pending, p...)
	r.pending = nil
	if cut := incompleteTail(data); cut > 0 {
		r.pending = append([]byte(nil), data[len(data)-cut:]...)
		data = data[:len(data)-cut]
	}
	if len(data) > 0 {
		r.event("o", string(data))
	}
}

// Resize records a new terminal size; the same size again is not an event.
func (r *Recorder) Resize(width, height int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if width <= 0 || height <= 0 || (width == r.width && height == r.height) {
		return
	}
	r.width, r.height = width, height
	r.event("r", strconv.Itoa(width)+"x"+strconv.Itoa(height))
}

// Marker records an asciicast v2 marker ("m"): a point a player lists and
// jumps to, labelled with label (a step's ID and title, the verdict).
// A character cut by the last Output stays pending across it.
func (r *Recorder) Marker(label string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.event("m", label)
}

// Size is the terminal size last recorded.
func (r *Recorder) Size() (width, height int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.width, r.height
}

// event writes one event line; r.mu is held.
func (r *Recorder) event(kind, data string) {
	if r.err != nil {
		return
	}
	now := r.now()
	gap := now.Sub(r.last)
	if gap < 0 {
		gap = 0 // a clock stepped back: time in the file never does
	}
	if r.idle > 0 && gap > r.idle {
		gap = r.idle
	}
	r.last = now
	r.at += gap
	r.line.Reset()
	r.line.WriteByte('[')
	r.line.WriteString(strconv.FormatFloat(r.at.Seconds(), 'f', 6, 64))
	r.line.WriteString(`, "` + kind + `", `)
	enc := json.NewEncoder(&r.line)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(data); err != nil { // Encode ends with '\n'
		r.err = fmt.Errorf("encode recording event: %w", err)
		return
	}
	r.line.Truncate(r.line.Len() - 1)
	r.line.WriteString("]\n")
	// One write per event: a crash leaves whole lines behind.
	if _, err := r.w.Write(r.line.Bytes()); err != nil {
		r.err = fmt.Errorf("write recording: %w", err)
	}
}

// Err is the first error writing the recording, if any.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Close records what is left of a cut character and closes the file that
// Create opened. It returns the first error of the recording.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) > 0 {
		r.event("o", string(r.pending)) // invalid bytes become U+FFFD
		r.pending = nil
	}
	if r.closer != nil {
		if err := r.closer.Close(); err != nil && r.err == nil {
			r.err = fmt.Errorf("close recording: %w", err)
		}
		r.closer = nil
	}
	return r.err
}

// incompleteTail is the length of a UTF-8 sequence begun but not finished
// at the end of b (0 when b ends on a whole character or invalid bytes).
func incompleteTail(b []byte) int {
	for i := 1; i <= 3 && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < 0x80 {
			return 0
		}
		if utf8.RuneStart(c) {
			need := 0
			switch {
			case c&0xE0 == 0xC0:
				need = 2
			case c&0xF0 == 0xE0:
				need = 3
			case c&0xF8 == 0xF0:
				need = 4
			}
			if need > i {
				return i
			}
			return 0
		}
	}
	return 0
}
