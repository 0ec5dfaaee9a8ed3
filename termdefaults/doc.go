// Package termdefaults settles Lip Gloss's terminal background before
// Bubble Tea's package init can ask the terminal for it.
//
// Bubble Tea v1's init calls lipgloss.HasDarkBackground, which writes an
// OSC 11 background query and a CSI 6n cursor report to the tty of every
// program that links it, headless commands included, and reads the answer
// back from the terminal. walstep decides the background without asking:
// from COLORFGBG when the terminal exports it, else dark.
//
// It is its own module only for its import path: Go initialises, among
// the packages whose imports are ready, the one whose path sorts first,
// and "early.walstep/…" sorts before "github.com/charmbracelet/bubbletea",
// so this init runs first. Nothing else may live here.
package termdefaults
