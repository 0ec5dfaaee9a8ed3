// Package present draws what both front ends show: the timeline picture,
// the archive view, the WAL at the fork, and the styles they are drawn
// with, from one palette.
// The debugger (tui) and the headless report (`walstep run`) both call it,
// so a picture looks the same in both; it knows nothing about Bubble Tea.
package present
