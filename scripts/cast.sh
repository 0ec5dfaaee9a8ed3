#!/usr/bin/env bash
# scripts/cast.sh regenerates docs/walstep.cast, the README's recording of
# the whole playbook: it runs the real binary in tmux at 100x30 on the local
# backend, in presenter mode with a short pause at the steps a demo stops
# at, records it with --record, continues to the end, waits until the
# verdict shows, quits stopping the servers, and checks the cast is valid
# (scripts/cast.sh needs tmux, Go and PostgreSQL server binaries).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export LC_ALL=C.UTF-8
. scripts/tmux-demo-lib.sh
demo_start cast.sh cast
demo_run 100 30 "cd $work && env TERM=xterm-256color ./walstep --lab ./lab --backend local --archiver cp --poll 1s --present --present-pause 3s --record $work/walstep.cast; echo \$? > $work/exit"

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
