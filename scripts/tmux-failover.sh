#!/usr/bin/env bash
# Drives the real walstep debugger in tmux at 120x40 through the built-in
# failover-old-primary-archives playbook (a the primary, b and c its
# standbys; b promoted, a started and stopped again, c repointed to b), a
# step at a time with n:
#   1. after every step, the panel holds a line per server (A, B and C);
#   2. at the end, the verdict is DIVERGED, c's line carries the ✗, b's
#      reads up on timeline 2, and the timeline picture's legend places c
#      on timeline 1 past b's fork;
#   3. o selects c: the facts shown are c's, and l opens c's log, which
#      holds b's refusal (or, when c restored a's segment before it was
#      repointed, its own refusal to start on timeline 2).
# BACKEND=docker runs it on the Docker backend (IMAGE, default
# walstep-test-pg:15). Exits non-zero with the screen on any failure.
#
#   scripts/tmux-failover.sh                  # local backend
#   BACKEND=docker scripts/tmux-failover.sh   # Docker backend
#   KEEP=1 scripts/tmux-failover.sh           # keep the work dir
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export LC_ALL=C.UTF-8
script_name=tmux-failover
cleanup_labs() { lab_cleanup; }
# shellcheck source=scripts/tmux-test-lib.sh
. "$root/scripts/tmux-test-lib.sh"
lab_setup wsf wsfo

# node_row NAME: the panel's line of server NAME (upper case).
node_row() { panel | grep -m1 -E "^(▸| ) $1 " || true; }

start_playbook failover-old-primary-archives
wait_for "next 0 ·" 60
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
echo "tmux-failover: 1. stepped through all ${#ids[@]} steps with n; after each the panel showed a line per server (A, B, C)"

# --- 2. the end: DIVERGED, c marked, b on timeline 2, c past the fork -----
wait_for "verdict: DIVERGED" 60
[[ "$(node_row C)" == *"✗"* ]] || die "c's line does not carry the ✗: $(node_row C)"
[[ "$(node_row B)" == *"TL2"* ]] || die "b is not on timeline 2: $(node_row B)"
[[ "$(node_row A)" != *"✗"* && "$(node_row B)" != *"✗"* ]] || die "a or b marked diverged: $(node_row A) / $(node_row B)"
panel | grep -qE "^  [A-Z] c [0-9A-F]+/[0-9A-F]+ TL1" || die "the picture's legend does not place c on timeline 1"
panel | grep -qE "^  [A-Z] b [0-9A-F]+/[0-9A-F]+ TL2" || die "the picture's legend does not place b on timeline 2"
echo "tmux-failover: 2. at the end: verdict DIVERGED, c marked ✗, b on timeline 2, c on timeline 1 in the picture"

# --- 3. o selects c, l opens its log ---------------------------------------
keys o
wait_for "─ B .*o: next" 5 -E
keys o
wait_for "─ C .*o: next" 5 -E
[[ "$(node_row C)" == "▸"* ]] || die "o did not move the mark to C: $(node_row C)"
keys l
wait_for "─ c log" 10
capture
grep -qE "is ahead of the WAL flush position|does not contain minimum recovery point" "$work/screen.txt" ||
	die "c's log does not show the refusal"
keys Escape
wait_for "─ C .*o: next" 5 -E
echo "tmux-failover: 3. o moved the selection to C, its facts showed, and l opened c's log with the refusal"

quit_and_pass
