#!/usr/bin/env bash
# Drives the real walstep debugger in tmux through a rewind:
#   1. c runs the seed's playbook to its end (checkpoints are kept before
#      the steps that start servers: 3 and 12);
#   2. g on step 12 restores the checkpoint before it: the screen says what
#      it restored and how long it took from the key press, steps 0–11 are
#      marked restored (not done), step 12 is next;
#   3. g on step 8 restores the checkpoint before step 3 and runs only
#      steps 3–7: they are done, 0–2 restored, 8 next;
#   4. an edited primary_restore.conf (read by step 8) makes g on 12 say
#      the checkpoint before 12 is not used and why;
#   5. walstep --resume brings the quit session back at step 12;
#   6. q, r at step 8 keeps a checkpoint there, and --resume restores it
#      without running a step.
# BACKEND=docker runs it on the Docker backend (IMAGE, default
# walstep-test-pg:15). Exits non-zero with the screen on any failure.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export LC_ALL=C.UTF-8
script_name=tmux-rewind
cleanup_labs() { lab_cleanup; }
# shellcheck source=scripts/tmux-test-lib.sh
. "$root/scripts/tmux-test-lib.sh"
lab_setup wsr wsrw
capture_flags=-J

echo "tmux-rewind: building walstep ($backend backend)"
(cd "$root" && go build -o "$bin" .) || die "go build failed"
"$bin" init "$lab" >/dev/null || die "init failed"

# select ID: move the selection to step ID's row.
select_step() {
	keys Home
	wait_for '^▸[^[:alnum:]]* 0 ' 5 -E
	local n
	for n in $(seq 1 "$2"); do keys j; done
	wait_for "^▸[^[:alnum:]]* $1 " 5 -E
}

rm -f "$work/exit" "$work/stderr"
tm new-session -d -s t -x 160 -y 80 \
	"cd '$work' && TERM=xterm-256color NO_COLOR=1 '$bin' ${flags[*]} 2>'$work/stderr'; echo \$? >'$work/exit'"
tm set-option -t t remain-on-exit on >/dev/null
wait_for "next 0 ·" 60

# --- 1. the whole playbook -------------------------------------------------
keys c
wait_for "end of the playbook" 600
ls "$lab/checkpoints" | grep -q -- '-before-12$' || die "no checkpoint was kept before step 12: $(ls "$lab/checkpoints" 2>&1)"
echo "tmux-rewind: 1. the playbook ran to its end; checkpoints: $(ls "$lab/checkpoints" | tr '\n' ' ')"

# --- 2. g on step 12 -------------------------------------------------------
# The spare copy a rewind moves in is made in the background after each
# checkpoint; a g pressed before it is ready waits for it. Time the rewind
# as a user who looked at the end for a moment sees it.
deadline=$((SECONDS + 120))
until ls "$lab"/checkpoints/*-before-12/ready/.complete >/dev/null 2>&1 || ((SECONDS >= deadline)); do sleep 0.2; done
select_step 12 19
keys g
wait_for "from the key press" 120
grep -q "restored the checkpoint before step 12" "$work/screen.txt" || die "the screen does not say what was restored"
said=$(grep -a -o "restored the checkpoint before step 12[^·]*from the key press" "$work/screen.txt" | head -1)
for id in 0 1 3 4d 6b 11; do
	[[ "$(row "$id")" == *"restored"* ]] || die "step $id is not marked restored: $(row "$id")"
	[[ "$(row "$id")" != *"✓"* ]] || die "step $id is marked done after a restore: $(row "$id")"
done
[[ "$(row 13)" != *"✓"* ]] || die "step 13 is still done after rewinding to 12: $(row 13)"
grep -q "next 12 ·" "$work/screen.txt" || die "step 12 is not next"
echo "tmux-rewind: 2. g on 12: $said; steps 0–11 marked restored"

# --- 3. g on step 8 runs only 3–7 -------------------------------------------
select_step 8 15
keys g
wait_for "next 8 ·" 300
grep -q "restored the checkpoint before step 3" "$work/screen.txt" || die "g on 8 did not restore the checkpoint before 3"
for id in 0 1 2; do
	[[ "$(row "$id")" == *"restored"* ]] || die "step $id is not marked restored: $(row "$id")"
done
for id in 3 4d 7; do
	[[ "$(row "$id")" == *"✓"* ]] || die "step $id did not run: $(row "$id")"
done
echo "tmux-rewind: 3. g on 8 restored the checkpoint before 3 and ran 3–7 only"

# --- 4. an edited conf: the checkpoint before 12 is not used ---------------
keys c
wait_for "end of the playbook" 300
echo "# edited" >>"$lab/primary_restore.conf"
select_step 12 19
keys g
wait_for "not used: file primary_restore.conf changed" 300
wait_for "next 12 ·" 300
echo "tmux-rewind: 4. after editing primary_restore.conf, g on 12 said the checkpoint before 12 is not used and why"

keys q
deadline=$((SECONDS + 10))
until [[ -s "$work/exit" ]] || ((SECONDS >= deadline)); do
	capture
	if grep -qE "Stop the servers before quitting\?|Quit\? y: quit" "$work/screen.txt"; then
		keys y
		break
	fi
	sleep 0.1
done
deadline=$((SECONDS + 120))
until [[ -s "$work/exit" ]] || ((SECONDS >= deadline)); do sleep 0.2; done
[[ -s "$work/exit" ]] || die "walstep did not exit after q, y"
grep -q -- "--resume --lab .* brings this session back at step 12" "$work/stderr" || die "the quit does not say how to resume"

# --- 5. --resume brings the session back at step 12 ---------------------------
rm -f "$work/exit"
tm kill-session -t t 2>/dev/null || true
tm new-session -d -s t -x 160 -y 80 \
	"cd '$work' && TERM=xterm-256color NO_COLOR=1 '$bin' --resume ${flags[*]} 2>'$work/stderr'; echo \$? >'$work/exit'"
tm set-option -t t remain-on-exit on >/dev/null
wait_for "next 12 ·" 120
grep -q "restored the checkpoint before step 12" "$work/screen.txt" || die "--resume did not restore the checkpoint before 12"
[[ "$(row 11)" == *"restored"* ]] || die "step 11 is not marked restored after --resume: $(row 11)"
echo "tmux-rewind: 5. --resume brought the session back at step 12 from its checkpoint"

# --- 6. quit keeping step 8: --resume comes back there, nothing run ---------
select_step 8 15
keys g
wait_for "next 8 ·" 300
keys q
wait_for "Quit? y: quit · r: quit keeping this step" 10
keys r
deadline=$((SECONDS + 120))
until [[ -s "$work/exit" ]] || ((SECONDS >= deadline)); do sleep 0.2; done
[[ -s "$work/exit" ]] || die "walstep did not exit after q, r"
grep -q "checkpoint kept before step 8" "$work/stderr" || die "q, r did not keep a checkpoint before step 8: $(cat "$work/stderr")"
grep -q -- "--resume --lab .* brings this session back at step 8" "$work/stderr" || die "the quit does not say how to resume at 8"
rm -f "$work/exit"
tm kill-session -t t 2>/dev/null || true
tm new-session -d -s t -x 160 -y 80 \
	"cd '$work' && TERM=xterm-256color NO_COLOR=1 '$bin' --resume ${flags[*]} 2>'$work/stderr'; echo \$? >'$work/exit'"
tm set-option -t t remain-on-exit on >/dev/null
wait_for "next 8 ·" 120
grep -q "restored the checkpoint before step 8" "$work/screen.txt" || die "--resume did not restore the checkpoint before 8"
for id in 3 7; do
	[[ "$(row "$id")" == *"restored"* ]] || die "step $id ran on --resume (want restored): $(row "$id")"
done
echo "tmux-rewind: 6. q, r at step 8 kept a checkpoint there; --resume restored it, steps 0–7 restored, none run"
keys q
deadline=$((SECONDS + 60))
until [[ -s "$work/exit" ]] || ((SECONDS >= deadline)); do
	capture
	if grep -qE "Stop the servers before quitting\?|Quit\? y: quit" "$work/screen.txt"; then
		keys y
	fi
	sleep 0.2
done
[[ -s "$work/exit" ]] || die "walstep did not exit after q"
echo "tmux-rewind: PASS ($backend)"
