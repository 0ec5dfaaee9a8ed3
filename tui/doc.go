// Package tui is walstep's terminal front end: a Bubble Tea model that shows
// the playbook as a checklist, the selected step's command and live output,
// and a side panel with both servers, and sends the user's keys to the
// Runner. It only renders events and snapshots; steps run in the Runner and
// every slow read (a poll, a log, a data dir) runs as a command. What the
// headless report draws too (the timeline picture, the archive view, the
// styles) lives in package present.
package tui
