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
	# A failure before lab_setup (tmux missing) has no work dir or socket yet.
	[[ -n "${work:-}" ]] || return 0
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

# For the scripts that drive a lab of their own (tmux-nodes, -failover,
# -playbook, -rewind; each sets script_name first and cleanup_labs to
# lab_cleanup), lab_setup TMPTAG PREFIX makes the work dir, the lab and the walstep
# flags for $BACKEND (local, or docker with $IMAGE under PREFIX-pid).
lab_setup() {
	backend=${BACKEND:-local}
	image=${IMAGE:-walstep-test-pg:15}
	work=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$work"
	bin="$work/walstep"
	sock="walstep-${script_name#tmux-}-$$"
	lab="$work/lab"
	prefix="$2-$$"
	flags=(--lab "$lab" --backend "$backend" --archiver cp)
	if [[ $backend == docker ]]; then
		flags+=(--image "$image" --init-image "$image" --prefix "$prefix")
	fi
	capture_flags=""
}

# lab_cleanup: cleanup_labs for a lab made by lab_setup.
lab_cleanup() { [[ -x "${bin:-}" && -d "${lab:-}" ]] && "$bin" clean "${flags[@]}" >/dev/null 2>&1 || true; }

# panel: the side panel's column of the screen (right of the first │).
panel() { capture; sed -n 's/^[^│]*│//p' "$work/screen.txt"; }

# start_playbook PLAYBOOK: builds walstep, inits the lab from PLAYBOOK and
# starts the debugger on it in session t at 120x40.
start_playbook() {
	echo "$script_name: building walstep ($backend backend)"
	(cd "$root" && go build -o "$bin" .) || die "go build failed"
	"$bin" init --playbook "$1" "$lab" >/dev/null || die "init --playbook failed"
	rm -f "$work/exit" "$work/stderr"
	tm new-session -d -s t -x 120 -y 40 \
		"cd '$work' && TERM=xterm-256color NO_COLOR=1 '$bin' ${flags[*]} 2>'$work/stderr'; echo \$? >'$work/exit'"
	tm set-option -t t remain-on-exit on >/dev/null
}

# quit_and_pass: q (answering y to stopping the servers), waits for
# walstep to exit, then reports PASS.
quit_and_pass() {
	keys q
	local deadline=$((SECONDS + 10))
	until [[ -s "$work/exit" ]] || ((SECONDS >= deadline)); do
		capture
		if grep -qF "Stop the servers before quitting?" "$work/screen.txt"; then
			keys y
			break
		fi
		sleep 0.1
	done
	deadline=$((SECONDS + 120))
	until [[ -s "$work/exit" ]] || ((SECONDS >= deadline)); do sleep 0.2; done
	[[ -s "$work/exit" ]] || die "walstep did not exit after q, y"
	echo "$script_name: PASS ($backend)"
}
