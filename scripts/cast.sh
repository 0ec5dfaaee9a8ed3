#!/usr/bin/env bash
# scripts/cast.sh regenerates docs/walstep.cast, the README's recording of
# the whole playbook: it runs the real binary in tmux at 100x30 on the local
# backend, in presenter mode with a short pause at the steps a demo stops
# at, records it with --record, continues to the end, waits until the
# verdict shows, quits stopping the servers, and checks the cast is valid
# (scripts/cast.sh needs tmux, Go and PostgreSQL server binaries).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v tmux >/dev/null || { echo "cast.sh: tmux is missing (apt-get install tmux)" >&2; exit 1; }
export LC_ALL=C.UTF-8

work="$(mktemp -d /tmp/walstep-cast.XXXXXX)"
chmod 755 "$work" # the servers run as postgres when this runs as root
sock="walstep-cast-$$"
cleanup() {
	tmux -L "$sock" kill-server 2>/dev/null || true
	[ -x "$work/walstep" ] && [ -d "$work/lab" ] && "$work/walstep" clean --lab "$work/lab" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/walstep" .
"$work/walstep" init "$work/lab" >/dev/null
tmux -L "$sock" -f /dev/null new-session -d -s cast -x 100 -y 30 \
	"cd $work && env TERM=xterm-256color ./walstep --lab ./lab --backend local --archiver cp --poll 1s --present --present-pause 3s --record $work/walstep.cast; echo \$? > $work/exit"

wait_for() { # wait_for TEXT SECONDS
	local deadline=$((SECONDS + $2))
	until tmux -L "$sock" capture-pane -p -t cast | grep -qF -- "$1"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "cast.sh: '$1' did not show within $2s; the screen was:" >&2
			tmux -L "$sock" capture-pane -p -t cast >&2
			exit 1
		fi
		sleep 0.2
	done
}

wait_for "Prepare the lab" 20
tmux -L "$sock" send-keys -t cast c
wait_for "finished" 180
wait_for "DIVERGED:" 30
sleep 3 # the room reads the verdict
tmux -L "$sock" send-keys -t cast q
wait_for "Stop the servers" 10
tmux -L "$sock" send-keys -t cast y
deadline=$((SECONDS + 120))
until [ -s "$work/exit" ]; do
	[ "$SECONDS" -lt "$deadline" ] || { echo "cast.sh: walstep did not exit" >&2; exit 1; }
	sleep 0.2
done
[ "$(cat "$work/exit")" = 0 ] || { echo "cast.sh: walstep exited with status $(cat "$work/exit")" >&2; exit 1; }
head -c 1 "$work/walstep.cast" | grep -q '{' || { echo "cast.sh: no asciicast header" >&2; exit 1; }
mkdir -p docs
mv "$work/walstep.cast" docs/walstep.cast
echo "cast.sh: wrote docs/walstep.cast ($(wc -c < docs/walstep.cast) bytes, $(($(wc -l < docs/walstep.cast) - 1)) events)" >&2
