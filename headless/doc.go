// Package headless is walstep's front end without a terminal to draw on:
// the session a run drives (Session), the run loop that `run`, `run
// --repeat`, `run --from` and `explore` share (RunPlaybook), and the
// reports built from it — text and JSON (Report, WriteText), the Markdown
// report for an issue tracker (WriteMarkdown), the repeat statistics
// (Repeat, WriteRepeatText) and a transcript's ending (FinishTranscript).
// The drawing itself is present's; main parses the flags, opens the
// session and dispatches here.
package headless
