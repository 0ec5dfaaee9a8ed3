// Command ansi2svg turns a terminal capture with ANSI colours (tmux
// capture-pane -e) into an SVG, so the README can show a real screen of
// walstep that renders on any Markdown viewer. It reads stdin and writes
// stdout; it understands SGR colour codes (16, 256 and 24-bit), bold and
// reverse, which is all lipgloss emits.
package main
