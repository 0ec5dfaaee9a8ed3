#!/usr/bin/env bash
# scripts/screenshot.sh regenerates docs/screenshot.svg (and .txt), the
# README's picture of the debugger in the middle of the divergence: it runs
# the real binary in tmux on the local backend, continues through the
# playbook, waits until the replica has been refused, captures the pane with
# its colours, converts it with scripts/ansi2svg, then quits and stops the
# servers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v tmux >/dev/null || { echo "screenshot.sh: tmux is missing (apt-get install tmux)" >&2; exit 1; }

work="$(mktemp -d /tmp/walstep-demo.XXXXXX)"
chmod 755 "$work" # the servers run as postgres when this runs as root
sock="walstep-shot-$$"
cleanup() {
	tmux -L "$sock" kill-server 2>/dev/null || true
	[ -x "$work/walstep" ] && [ -d "$work/lab" ] && "$work/walstep" clean --lab "$work/lab" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/walstep" .
"$work/walstep" init "$work/lab" >/dev/null
tmux -L "$sock" -f /dev/null new-session -d -s shot -x 132 -y 40 \
	"env TERM=xterm-256color COLORTERM=truecolor $work/walstep --lab $work/lab --backend local --archiver cp"

wait_for() { # wait_for TEXT SECONDS
	local deadline=$((SECONDS + $2))
	until tmux -L "$sock" capture-pane -p -t shot | grep -qF -- "$1"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "screenshot.sh: '$1' did not show within $2s; the screen was:" >&2
			tmux -L "$sock" capture-pane -p -t shot >&2
			exit 1
		fi
		sleep 0.2
	done
}

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
