# scripts/tmux-test-lib.sh: what the tmux scripts that drive the real
# debugger share (tmux-truth.sh, tmux-playbook.sh, tmux-rewind.sh), sourced
# by each after it has set:
#   script_name  its name, for messages ("tmux-rewind")
#   work     its work dir; the screen is captured to $work/screen.txt,
#            walstep's stderr and exit status go to $work/stderr, $work/exit
#   sock     the tmux server of its own (tmux -L)
#   cleanup_labs  (a function) cleans the labs it made; called on exit
# and optionally capture_flags (e.g. -J to join wrapped lines).
# The session is "t". die, tm, capture, wait_for, keys and row are here.

die() {
	echo "$script_name: FAIL: $*" >&2
	if [[ -n "${work:-}" && -f "$work/screen.txt" ]]; then
		echo "--- last screen:" >&2
		cat "$work/screen.txt" >&2
	fi
	if [[ -n "${work:-}" && -s "$work/stderr" ]]; then
		echo "--- walstep stderr:" >&2
		cat "$work/stderr" >&2
	fi
	exit 1
}

command -v tmux >/dev/null || die "tmux is not installed"

tm() { tmux -L "$sock" "$@"; }

cleanup() {
	tm kill-server 2>/dev/null || true
	cleanup_labs
	if [[ -z "${KEEP:-}" ]]; then rm -rf "$work"; else echo "$script_name: work dir kept: $work"; fi
}
trap cleanup EXIT

capture() { tm capture-pane -p ${capture_flags:-} -t t >"$work/screen.txt" 2>/dev/null || true; }

# wait_for TEXT SECONDS [-E]: poll the screen until TEXT shows, or fail.
wait_for() {
	local text=$1 deadline=$((SECONDS + $2)) mode=${3:--F}
	while ((SECONDS < deadline)); do
		capture
		if grep -q "$mode" -- "$text" "$work/screen.txt"; then
			return 0
		fi
		if [[ -s "$work/exit" ]]; then
			die "walstep exited ($(cat "$work/exit")) while waiting for \"$text\""
		fi
		sleep 0.1
	done
	die "\"$text\" did not show within $2s"
}

keys() { tm send-keys -t t "$@"; }

# row ID: the checklist row of step ID (left of the │).
row() {
	capture
	local id=${1//+/\\+}
	sed 's/│.*//' "$work/screen.txt" | grep -m1 -E "^(▸| )(●| )[^ ]+ +$id " || true
}
