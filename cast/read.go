package cast

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Event is one line after the header.
type Event struct {
	Time float64 // seconds since the start, as played
	Kind string  // "o" output, "r" resize, "i" input, "m" marker
	Data string
}

// Read parses an asciicast v2 stream: the header and every event. A last
// line cut short (a recording whose writer died mid-line) is an error, as
// is anything else that is not an event.
func Read(r io.Reader) (Header, []Event, error) {
	var h Header
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return h, nil, fmt.Errorf("read recording: %w", err)
		}
		return h, nil, fmt.Errorf("read recording: empty")
	}
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
		return h, nil, fmt.Errorf("read recording header: %w", err)
	}
	if h.Version != 2 {
		return h, nil, fmt.Errorf("read recording header: version %d, want 2", h.Version)
	}
	var events []Event
	for n := 2; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var raw []json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil || len(raw) != 3 {
			return h, events, fmt.Errorf("read recording line %d: not an event: %.60q", n, line)
		}
		var e Event
		if err := json.Unmarshal(raw[0], &e.Time); err != nil {
			return h, events, fmt.Errorf("read recording line %d: time: %w", n, err)
		}
		if err := json.Unmarshal(raw[1], &e.Kind); err != nil {
			return h, events, fmt.Errorf("read recording line %d: kind: %w", n, err)
		}
		if err := json.Unmarshal(raw[2], &e.Data); err != nil {
			return h, events, fmt.Errorf("read recording line %d: data: %w", n, err)
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		return h, events, fmt.Errorf("read recording: %w", err)
	}
	return h, events, nil
}

// ParseSize reads a resize event's "WxH".
func ParseSize(s string) (width, height int, err error) {
	ws, hs, ok := strings.Cut(s, "x")
	if ok {
		width, err = strconv.Atoi(ws)
		if err == nil {
			height, err = strconv.Atoi(hs)
		}
	}
	if !ok || err != nil || width <= 0 || height <= 0 {
		return 0, 0, fmt.Errorf("resize %q: want WIDTHxHEIGHT", s)
	}
	return width, height, nil
}
