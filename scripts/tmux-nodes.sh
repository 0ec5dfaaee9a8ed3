#!/usr/bin/env bash
# Drives the real walstep debugger in tmux at 120x40 through a playbook of
# three servers (testdata/playbooks/three-nodes.md: a primary a, b a
# standby of a, c a standby of b; PLAYBOOK names another), a step at a
# time with n:
#   0. before any step, x opens a shell on a, the first server (not the
#      seed's primary, which this lab lacks), and names it server a;
#   1. after every step, the panel holds a line per server (A, B and C),
#      and once a server has started, its line shows its state;
#   2. at the end, every line reads up on timeline 1, the verdict is
#      PostgreSQL's (HEALTHY), and the timeline picture's legend places
#      all three servers;
#   3. o selects the next server: the mark moves, the facts shown are the
#      selected one's, and l opens that server's log.
# BACKEND=docker runs it on the Docker backend (IMAGE, default
# walstep-test-pg:15). Exits non-zero with the screen on any failure.
#
#   scripts/tmux-nodes.sh                  # local backend
#   BACKEND=docker scripts/tmux-nodes.sh   # Docker backend
#   KEEP=1 scripts/tmux-nodes.sh           # keep the work dir
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export LC_ALL=C.UTF-8
playbook=${PLAYBOOK:-$root/testdata/playbooks/three-nodes.md}
script_name=tmux-nodes
cleanup_labs() { lab_cleanup; }
# shellcheck source=scripts/tmux-test-lib.sh
. "$root/scripts/tmux-test-lib.sh"
lab_setup wsn wsnd

# node_row NAME: the panel's line of server NAME (upper case).
node_row() { panel | grep -m1 -E "^(▸| ) $1 +TL" || true; }

start_playbook "$playbook"
wait_for "next 0 ·" 60
# --- 0. before any step, x opens a shell on the first server (a), named by name
keys x
if [[ $backend == docker ]]; then
	# No container exists before a step starts one: the debugger says so
	# for the first server instead of running a docker exec that fails.
	wait_for "server a's container does not exist yet" 30
	echo "tmux-nodes: 0. before any step x named server a, the first server, whose container does not exist yet"
else
	wait_for "a shell in server a's environment" 30
	keys "exit" Enter
	wait_for "back from server a's shell" 30
	echo "tmux-nodes: 0. before any step x opened a shell on a, the first server, and named it server a"
fi
wait_for "servers · poll #" 30

# --- 1. a step at a time, three servers on screen -------------------------
ids=(0 1 2 3 4 5 6 7)
for i in "${!ids[@]}"; do
	id=${ids[$i]}
	keys n
	if ((i + 1 < ${#ids[@]})); then
		wait_for "next ${ids[$((i + 1))]} ·" 180
	else
		wait_for "end of the playbook" 180
	fi
	[[ "$(row "$id")" == *"✓"* ]] || die "step $id is not done: $(row "$id")"
	for n in A B C; do
		[[ -n "$(node_row "$n")" ]] || die "after step $id the panel has no line for server $n"
	done
done
echo "tmux-nodes: 1. stepped through all ${#ids[@]} steps with n; after each the panel showed a line per server (A, B, C)"

# --- 2. the end: all three up on timeline 1, HEALTHY, all in the picture --
wait_for "verdict: HEALTHY" 60
for n in A B C; do
	r=$(node_row "$n")
	[[ "$r" == *"TL1"* && "$r" == *"up · "* ]] || die "server $n is not up on timeline 1: $r"
done
[[ "$(node_row B)" == *"streaming standby"* && "$(node_row C)" == *"streaming standby"* ]] ||
	die "b and c do not both stream: $(node_row B) / $(node_row C)"
for n in a b c; do
	panel | grep -qE "^  [A-Z] $n [0-9A-F]+/[0-9A-F]+ TL1" || die "the picture's legend does not place server $n"
done
echo "tmux-nodes: 2. at the end: A primary, B and C streaming standbys on timeline 1, verdict HEALTHY, all three in the picture"

# --- 3. o selects the next server -----------------------------------------
[[ "$(node_row A)" == "▸"* ]] || die "the first server is not selected at the start: $(node_row A)"
panel | grep -q "^─ A .*o: next" || die "the facts shown are not A's"
keys o
wait_for "─ B .*o: next" 5 -E
[[ "$(node_row B)" == "▸"* && "$(node_row A)" != "▸"* ]] || die "o did not move the mark to B: $(node_row A) / $(node_row B)"
panel | grep -q "receiver *streaming" || die "B's facts (a standby's receiver) do not show"
keys o
wait_for "─ C .*o: next" 5 -E
keys l
wait_for "─ c log" 10
keys Escape
wait_for "─ C .*o: next" 5 -E
keys o
wait_for "─ A .*o: next" 5 -E
echo "tmux-nodes: 3. o moved the selection A→B→C→A, the facts followed it, and l opened C's log"

quit_and_pass
