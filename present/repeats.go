package present

import "fmt"

// Repeat is a log message and how many times in a row it was logged.
type Repeat struct {
	Line  string
	Count int
}

// String is the line with its count when it repeats: "… (x6)", as the
// diagnosis writes its findings.
func (r Repeat) String() string {
	if r.Count > 1 {
		return fmt.Sprintf("%s (x%d)", r.Line, r.Count)
	}
	return r.Line
}

// CollapseRepeats folds runs of lines that read the same once key is
// applied (the log prefix and its timestamp dropped, say) into one Repeat
// each, in order; the Line kept is the last of its run, as key gave it.
func CollapseRepeats(lines []string, key func(string) string) []Repeat {
	var out []Repeat
	for _, l := range lines {
		k := key(l)
		if n := len(out); n > 0 && out[n-1].Line == k {
			out[n-1].Count++
			continue
		}
		out = append(out, Repeat{Line: k, Count: 1})
	}
	return out
}
