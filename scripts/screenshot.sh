#!/usr/bin/env bash
# scripts/screenshot.sh regenerates docs/screenshot.svg (and .txt), the
# README's picture of the debugger in the middle of the divergence: it runs
# the real binary in tmux on the local backend, continues through the
# playbook, waits until the replica has been refused, captures the pane with
# its colours, converts it with scripts/ansi2svg, then quits and stops the
# servers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/tmux-demo-lib.sh
demo_start screenshot.sh shot
demo_run 132 40 "env TERM=xterm-256color COLORTERM=truecolor $work/walstep --lab $work/lab --backend local --archiver cp"

wait_for "Prepare the lab" 20
tmux -L "$sock" send-keys -t shot c
wait_for "finished" 120
wait_for "ahead of the WAL" 30
wait_for "DIVERGED" 30
mkdir -p docs
tmux -L "$sock" capture-pane -e -p -t shot > "$work/screen.ansi"
# The lab path stays as it is: rewriting it would shift the columns.
tmux -L "$sock" capture-pane -p -t shot > docs/screenshot.txt
go run ./scripts/ansi2svg < "$work/screen.ansi" > docs/screenshot.svg
tmux -L "$sock" send-keys -t shot q
wait_for "Stop the servers" 10
tmux -L "$sock" send-keys -t shot y
echo "screenshot.sh: wrote docs/screenshot.svg and docs/screenshot.txt" >&2
