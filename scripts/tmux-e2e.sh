#!/usr/bin/env bash
# Drives the real walstep debugger in tmux, on the local backend and a fresh
# lab, the way a person would: it presses keys through step 13 and on to
# the end of the playbook, reads the screen with capture-pane, checks that
# the side panel shows the primary on timeline 2 and the replica's state,
# quits (answering yes to "stop the servers?"), and checks that no postgres
# process of the lab is left. Exits non-zero with a message on any failure.
#
#   scripts/tmux-e2e.sh            # needs tmux, Go, PostgreSQL server binaries
#   KEEP=1 scripts/tmux-e2e.sh     # keep the work dir (lab, screens) afterwards
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# tmux draws UTF-8 only in a UTF-8 locale, and grep's patterns below need
# one too; CI may start with none.
export LC_ALL=C.UTF-8
W=80 H=24 # the smallest size the debugger supports

die() {
	echo "tmux-e2e: FAIL: $*" >&2
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

if ! command -v tmux >/dev/null; then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		apt-get update -qq >/dev/null && apt-get install -y -qq tmux >/dev/null || die "could not install tmux"
	else
		die "tmux is not installed"
	fi
fi

# The local backend runs the servers as postgres when we are root: the lab
# must sit under directories postgres can traverse.
work=$(mktemp -d /tmp/walstep-tmux-e2e.XXXXXX)
chmod 755 "$work"
lab="$work/lab"
bin="$work/walstep"
sock="walstep-e2e-$$"
tm() { tmux -L "$sock" "$@"; }

cleanup() {
	tm kill-server 2>/dev/null || true
	# Whatever happened, leave no server of this lab behind.
	if [[ -x "$bin" && -d "$lab" ]]; then
		"$bin" clean --lab "$lab" >/dev/null 2>&1 || true
	fi
	if [[ -z "${KEEP:-}" ]]; then
		rm -rf "$work"
	else
		echo "tmux-e2e: work dir kept: $work"
	fi
}
trap cleanup EXIT

echo "tmux-e2e: building walstep"
(cd "$root" && go build -o "$bin" .) || die "go build failed"

# The pane runs walstep, then records its exit status. TERM must name a
# terminal tmux emulates; NO_COLOR keeps the captured screen plain.
tm new-session -d -s e2e -x "$W" -y "$H" \
	"cd '$work' && TERM=xterm-256color NO_COLOR=1 '$bin' --lab '$lab' --backend local --archiver cp 2>'$work/stderr'; echo \$? >'$work/exit'"
tm set-option -t e2e remain-on-exit on >/dev/null

capture() { tm capture-pane -p -t e2e >"$work/screen.txt" 2>/dev/null || true; }

# wait_for TEXT SECONDS [-E]: poll the screen until TEXT (a fixed string,
# or a regexp with -E) shows, or fail. A step failure ends the wait at
# once, with the screen.
wait_for() {
	local text=$1 deadline=$((SECONDS + $2)) mode=${3:--F}
	while ((SECONDS < deadline)); do
		capture
		if grep -q "$mode" -- "$text" "$work/screen.txt"; then
			return 0
		fi
		if grep -qE 'step [^ ]+ failed: r retries it' "$work/screen.txt"; then
			die "a step failed while waiting for \"$text\""
		fi
		if [[ -s "$work/exit" ]]; then
			die "walstep exited ($(cat "$work/exit")) while waiting for \"$text\""
		fi
		sleep 0.2
	done
	die "\"$text\" did not show within $2s"
}

keys() { tm send-keys -t e2e "$@"; }

# panel NODE: the side panel's lines for one server (right of the │).
panel() {
	awk -F'│' -v node="$1" '
		NF > 1 { p = $NF }
		NF > 1 && p ~ / (PRIMARY|REPLICA) / { on = (p ~ node) }
		NF > 1 && p ~ /^─/ && on { on = 0 }
		on { print p }' "$work/screen.txt"
}

wait_for "next 0 ·" 30
echo "tmux-e2e: the debugger is up at ${W}x${H}"

# One step by hand.
keys n
wait_for "next 1 ·" 60

# Select step 13 (rows read "▸", breakpoint, state, id) and set a
# breakpoint on it: press j, wait for the selection to move, repeat.
selected() { capture; grep -m1 '^▸' "$work/screen.txt" || true; }
for _ in $(seq 40); do
	row=$(selected)
	if grep -qE '^▸[^[:alnum:]]* 13 ' <<<"$row"; then break; fi
	keys j
	deadline=$((SECONDS + 5))
	while [[ "$(selected)" == "$row" ]] && ((SECONDS < deadline)); do sleep 0.05; done
done
grep -qE '^▸[^[:alnum:]]* 13 ' <<<"$(selected)" || die "could not select step 13"
keys b
wait_for '^▸●[^[:alnum:]]* 13 ' 5 -E

# Continue to the breakpoint: steps 1..12 run on real PostgreSQL.
keys c
wait_for "stopped at the breakpoint before 13" 300
echo "tmux-e2e: stopped before step 13"
capture
panel PRIMARY | grep -q "timeline 2" || die "after step 12 the panel does not show the primary on timeline 2"

# Step 13, then on to the end.
keys n
wait_for "next F1 ·" 60
keys c
wait_for "finished ·" 300
echo "tmux-e2e: the playbook ran to the end"

# Give the panel a poll or two after the last step, then read it.
wait_for "end of the playbook" 10
sleep 1
capture
cp "$work/screen.txt" "$work/final-screen.txt"
primary=$(panel PRIMARY)
replica=$(panel REPLICA)
grep -q "timeline 2" <<<"$primary" || die "the panel does not show the primary on timeline 2"
grep -qE "^ *(up|starting|stopped|crashed)( |$)" <<<"$replica" || die "the panel does not show the replica's state"
replica_state=$(grep -E "^ *(up|starting|stopped|crashed)" <<<"$replica" | head -1 | sed 's/^ *//; s/ *$//')
verdict=$(grep -oE 'verdict: [A-Z]+' "$work/screen.txt" | head -1 || true)
[[ -n "$verdict" ]] || die "the panel shows no verdict"
echo "tmux-e2e: primary on timeline 2; replica: $replica_state; $verdict"

# The log and inspect views read real files, the diagnosis explains the
# verdict; esc comes back.
keys d
wait_for "Verdict:" 10
keys Escape
wait_for "steps" 5
keys l
wait_for "primary log" 10
keys Escape
wait_for "steps" 5
keys i
wait_for "postgresql.conf: lines after initdb's" 15
keys Escape
wait_for "steps" 5
# The WAL view reads the fork with the server's own pg_waldump: the one
# record past it is the end-of-backup switch.
keys w
wait_for "0/2000100  XLOG        SWITCH" 30
echo "tmux-e2e: the WAL view shows the SWITCH at 0/2000100 past the fork"
keys Escape

# Quit, stopping the servers.
keys q
wait_for "Stop the servers before quitting?" 10
keys y
deadline=$((SECONDS + 120))
until [[ -s "$work/exit" ]] || ((SECONDS >= deadline)); do sleep 0.2; done
[[ -s "$work/exit" ]] || die "walstep did not exit after q, y"
status=$(cat "$work/exit")
[[ "$status" == 0 ]] || die "walstep exited with status $status"
tm kill-server 2>/dev/null || true

if pgrep -f -- "$lab" >/dev/null; then
	pgrep -af -- "$lab" >&2
	die "postgres processes of the lab are still running after quitting with 'stop the servers'"
fi
echo "tmux-e2e: walstep exited 0 and no postgres process of $lab is left"

# launch: a fresh walstep in a fresh tmux session on the same lab.
launch() {
	tm kill-server 2>/dev/null || true
	rm -f "$work/exit" "$work/stderr"
	tm new-session -d -s e2e -x "$W" -y "$H" \
		"cd '$work' && TERM=xterm-256color NO_COLOR=1 '$bin' --lab '$lab' --backend local --archiver cp 2>'$work/stderr'; echo \$? >'$work/exit'"
	tm set-option -t e2e remain-on-exit on >/dev/null
	wait_for "next 0 ·" 30
}
wait_exit() {
	local deadline=$((SECONDS + 120))
	until [[ -s "$work/exit" ]] || ((SECONDS >= deadline)); do sleep 0.2; done
	[[ -s "$work/exit" ]] || die "walstep did not exit"
	cat "$work/exit"
	# tmux's own command line names the lab: it must not count as a server.
	tm kill-server 2>/dev/null || true
}

# Quit keeping the servers: they must outlive walstep, and clean stops them.
launch
for next in 1 2 3 4; do
	keys n
	wait_for "next $next ·" 60
done
keys q
wait_for "Stop the servers before quitting?" 10
keys n
status=$(wait_exit)
[[ "$status" == 0 ]] || die "walstep exited with status $status after q, n"
pgrep -f -- "$lab/primary-data" >/dev/null || die "the primary did not outlive walstep although the user chose to keep it"
grep -q "servers left running" "$work/stderr" || die "walstep did not say the servers were left running"
"$bin" clean --lab "$lab" >/dev/null || die "walstep clean failed"
if pgrep -f -- "$lab" >/dev/null; then die "walstep clean left postgres running"; fi
echo "tmux-e2e: q, n kept the primary running; walstep clean stopped it"

# Ctrl-C in the middle of a step: the servers stop, the exit status says so.
launch
keys c
wait_for "4d" 60
wait_for "Take the base backup" 60
keys C-c
status=$(wait_exit)
[[ "$status" != 0 ]] || die "walstep exited 0 after Ctrl-C"
if pgrep -f -- "$lab" >/dev/null; then
	pgrep -af -- "$lab" >&2
	die "postgres left running after Ctrl-C"
fi
echo "tmux-e2e: Ctrl-C mid-run exited $status and left no postgres"
echo "tmux-e2e: PASS"
