// Package cast records a terminal session as an asciicast v2 file, the
// format asciinema and its players read: a JSON header line, then one JSON
// array per event ([time, "o", text] for output, [time, "r", "WxH"] for a
// resize). Events are written as they happen, so a session that dies keeps
// what was recorded, and idle stretches are shortened to a limit so that a
// slow investigation still plays back in a minute.
//
// Tee puts a Recorder between a program and its terminal: give it to Bubble
// Tea with tea.WithOutput and the program draws as before while every byte
// it writes is also recorded. Read parses a file back (for tests and tools).
package cast
