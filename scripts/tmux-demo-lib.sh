# scripts/tmux-demo-lib.sh: what scripts/screenshot.sh and scripts/cast.sh
# share, sourced by both. demo_start NAME SESSION builds walstep into a
# fresh work dir ($work) and writes a default lab there; demo_run WIDTH
# HEIGHT COMMAND runs COMMAND in a tmux session SESSION of that size on a
# tmux server of its own; everything they made goes when the script exits.
# wait_for TEXT SECONDS waits until the pane shows TEXT.
# Needs: tmux, Go, PostgreSQL server binaries.

demo_start() { # demo_start NAME SESSION
	demo_name=$1
	demo_session=$2
	command -v tmux >/dev/null || { echo "$demo_name: tmux is missing (apt-get install tmux)" >&2; exit 1; }
	work="$(mktemp -d "/tmp/walstep-$demo_session.XXXXXX")"
	chmod 755 "$work" # the servers run as postgres when this runs as root
	sock="walstep-$demo_session-$$"
	trap demo_cleanup EXIT
	go build -o "$work/walstep" .
	"$work/walstep" init "$work/lab" >/dev/null
}

demo_cleanup() {
	tmux -L "$sock" kill-server 2>/dev/null || true
	[ -x "$work/walstep" ] && [ -d "$work/lab" ] && "$work/walstep" clean --lab "$work/lab" >/dev/null 2>&1 || true
	rm -rf "$work"
}

demo_run() { # demo_run WIDTH HEIGHT COMMAND
	tmux -L "$sock" -f /dev/null new-session -d -s "$demo_session" -x "$1" -y "$2" "$3"
}

wait_for() { # wait_for TEXT SECONDS
	local deadline=$((SECONDS + $2))
	until tmux -L "$sock" capture-pane -p -t "$demo_session" | grep -qF -- "$1"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "$demo_name: '$1' did not show within $2s; the screen was:" >&2
			tmux -L "$sock" capture-pane -p -t "$demo_session" >&2
			exit 1
		fi
		sleep 0.2
	done
}
