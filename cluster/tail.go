package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"walstep/untrusted"
)

// tailLines returns up to n last lines of f (size bytes long), reading at
// most maxLogTail bytes from its end.
func tailLines(f *os.File, size int64, n int) ([]string, error) {
	// Start small (a log line is ~100 bytes) and double: most calls need
	// one short read, and the poller calls this twice per poll.
	chunk := int64(n) * 160
	var buf []byte
	off := size
	for off > 0 && size-off < maxLogTail {
		step := chunk
		if chunk < 1<<20 {
			chunk *= 2
		}
		if off < step {
			step = off
		}
		if size-off+step > maxLogTail {
			step = maxLogTail - (size - off)
		}
		off -= step
		b := make([]byte, step)
		if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read log: %w", err)
		}
		buf = append(b, buf...)
		if strings.Count(string(buf), "\n") > n {
			break
		}
	}
	lines := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	if off > 0 && len(lines) > 0 {
		lines = lines[1:] // first line may be partial
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return nil, nil
	}
	// Logs hold what clients sent (a role name, a query): no terminal
	// control sequence leaves here.
	return untrusted.Lines(lines), nil
}
