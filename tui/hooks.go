package tui

import "walstep/pg"

// Renderers for issue 5's timeline picture and archive view. They live in
// tui/timeline.go and tui/archiveview.go, which set these in an init
// function; until then the panel lists fork points in words and the a key
// says the archive view is missing. Each returns lines at most width wide.
var (
	timelineRenderer func(snap pg.Snapshot, width int, st Styles) string
	archiveRenderer  func(snap pg.Snapshot, width int, st Styles) string
)
