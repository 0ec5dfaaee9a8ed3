// Package present draws what both front ends show: the timeline picture,
// the archive view, the WAL at the fork, the Markdown report, the blocks
// the reports and transcripts share (a server's facts, the archive's
// listing, the history lines, code fences, their width), and the styles
// they are drawn with, from one palette.
// The debugger (tui) and the headless report (`walstep run`) both call it,
// so a picture looks the same in both; it knows nothing about Bubble Tea.
package present
