#!/usr/bin/env bash
# Drives the real walstep debugger in tmux (local backend, cp archiver) to
# check that the screen tells the truth where it used to not:
#   1. "Quit and cancel it? y" cancels the running step, even for a user
#      who then stays (esc), and its processes are gone;
#   2. the log view shows the last line of the log, wrapped rows included,
#      at 80x24 and 120x40, and follows the log as it grows;
#   3. after a jump back to step 0 and running it (which resets the lab),
#      the steps it undid are pending again, and a skip from the earlier
#      pass does not pass over a step;
#   4. cancelling initdb (step 1) shows "cancelled", not a failure, and a
#      retry succeeds (the half-made data dir removed first);
#   5. a hook edited between two retries shows and runs as edited, and a
#      hook added meanwhile joins the checklist at the next pass;
#   6. step 1 failing on a stray file names initdb's own error, in the
#      failure line and in the output pane, and after the advised
#      `rm -rf primary-data` a retry runs it;
#   7. at 80x24, at the end of a run, the verdict, the fork LSN and the
#      replica's position show uncut in the side panel, in the normal
#      layout and in presenter mode (the timeline picture included), and
#      the primary's repeated refusals read as one line with a count, and
#      the d view shows the proof from the data (agreeing with the verdict).
# Exits non-zero with the screen on any failure.
#
#   scripts/tmux-truth.sh          # needs tmux, Go, PostgreSQL server binaries
#   KEEP=1 scripts/tmux-truth.sh   # keep the work dir afterwards
#   ONLY=2,4 scripts/tmux-truth.sh # only those checks
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export LC_ALL=C.UTF-8

# A short path: the header keeps the run state beside it at 80 columns.
work=$(mktemp -d /tmp/wst.XXXXXX)
chmod 755 "$work"
bin="$work/walstep"
sock="walstep-truth-$$"
lab=""
script_name=tmux-truth
cleanup_labs() {
	for l in "$work"/lab-*; do
		[[ -d "$l" && -x "$bin" ]] && "$bin" clean --lab "$l" >/dev/null 2>&1 || true
	done
}
# shellcheck source=scripts/tmux-test-lib.sh
. "$root/scripts/tmux-test-lib.sh"

echo "tmux-truth: building walstep"
(cd "$root" && go build -o "$bin" .) || die "go build failed"

# launch NAME W H [ARGS...]: walstep on a fresh lab $work/lab-NAME.
launch() {
	local name=$1 w=$2 h=$3
	shift 3
	tm kill-server 2>/dev/null || true
	lab="$work/lab-$name"
	rm -f "$work/exit" "$work/stderr"
	tm new-session -d -s t -x "$w" -y "$h" \
		"cd '$work' && TERM=xterm-256color NO_COLOR=1 '$bin' --lab '$lab' --backend local --archiver cp $* 2>'$work/stderr'; echo \$? >'$work/exit'"
	tm set-option -t t remain-on-exit on >/dev/null
	wait_for "next 0 ·" 30
}

# last_text_row N: the last non-blank row of the log view's text (rows 3..N).
last_text_row() { sed -n "3,$1p" "$work/screen.txt" | grep -v '^ *$' | tail -1; }

quit_stopping() {
	keys q
	# A question comes while a server runs, or to offer --resume.
	local deadline=$((SECONDS + 10))
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
	tm kill-server 2>/dev/null || true
}

# want N: whether check N runs (ONLY, else all).
want() { [[ -z "${ONLY:-}" || ",$ONLY," == *",$1,"* ]]; }

# --- 1. q → "Quit and cancel it?" y cancels the running step -------------
if want 1; then
launch quit 80 24
mkdir -p "$lab/hooks"
echo 'sleep 47.25' >"$lab/hooks/after-0.primary.sh"
tm kill-server
launch quit 80 24
keys c
wait_for "running 0+1" 60
keys q
wait_for "Quit and cancel it? (y/n)" 10
keys y
wait_for "Stop the servers before quitting?" 10
keys Escape
wait_for "step 0+1 cancelled" 20
if pgrep -f "sleep 47.25" >/dev/null; then die "the cancelled hook's sleep still runs"; fi
capture
grep -q "next 0+1 ·" "$work/screen.txt" || die "the header does not say 0+1 is next after the cancel"
[[ "$(row 0+1)" == *"cancelled"* ]] || die "the checklist does not show 0+1 cancelled: $(row 0+1)"
[[ "$(row 1)" == *"·"* ]] || die "step 1 ran after the cancel: $(row 1)"
quit_stopping
echo "tmux-truth: 1. q, y cancelled the running step (the user stayed; its process is gone)"
fi

# --- 2 and 3 share a session ---------------------------------------------
if want 2 || want 3; then
launch logs 80 24 --break 4
keys c
wait_for "stopped at the breakpoint before 4" 120
# A last line longer than the screen is wide: its end is on a wrapped row.
printf '2026-11-30 09:00:00.000 UTC [1] STATEMENT:  START_REPLICATION %s TAIL-MARK-80\n' "$(printf 'x%.0s' $(seq 90))" >>"$lab/logs/primary.log"
fi
if want 2; then
keys l
wait_for "TAIL-MARK-80" 10
capture
[[ "$(last_text_row 22)" == *"TAIL-MARK-80"* ]] || die "at 80x24 the log's last row is not the last text row"
echo "2026-11-30 09:00:01.000 UTC [1] LOG:  FOLLOW-MARK" >>"$lab/logs/primary.log"
wait_for "FOLLOW-MARK" 10
keys Escape
wait_for "▶ steps" 5
tm resize-window -t t -x 120 -y 40
printf '2026-11-30 09:00:02.000 UTC [1] LOG:  database system is shut down %s TAIL-MARK-120\n' "$(printf 'y%.0s' $(seq 120))" >>"$lab/logs/primary.log"
keys l
wait_for "TAIL-MARK-120" 10
capture
[[ "$(last_text_row 38)" == *"TAIL-MARK-120"* ]] || die "at 120x40 the log's last row is not the last text row"
keys Escape
wait_for "▶ steps" 5
echo "tmux-truth: 2. the log view showed its wrapped last line at 80x24 and 120x40 and followed the log"
tm resize-window -t t -x 80 -y 24
fi

# --- 3. the checklist after a jump back to 0 -----------------------------
if want 3; then
keys j # select step 4 (the selection stays on the last step that ran)
wait_for '^▸●[^[:alnum:]]* 4 ' 5 -E
keys s # skip step 4 in this pass
wait_for "next 4a ·" 10
[[ "$(row 4)" == *"»"* ]] || die "step 4 not marked skipped: $(row 4)"
keys Home
wait_for '^▸[^[:alnum:]]* 0 ' 5 -E
keys g
wait_for "next 0 ·" 10
keys n
wait_for "next 1 ·" 60
capture
for id in 1 2 3 4; do
	r=$(row "$id")
	[[ ("$r" == *"·"* || "$r" == *"→"*) && "$r" != *"✓"* && "$r" != *"»"* ]] || die "after step 0 reset the lab, step $id still shows its earlier pass: $r"
done
grep -qE "next 1 · 1/[0-9]+" "$work/screen.txt" || die "the header still counts the undone steps"
keys c # the breakpoint before 4 must stop the run: 4 is not skipped any more
wait_for "stopped at the breakpoint before 4" 120
quit_stopping
echo "tmux-truth: 3. after the jump back, steps 1-4 were pending again and step 4 was not passed over"
fi

# --- 4. cancel, then retry, initdb ---------------------------------------
if want 4; then
launch initdb 80 24
keys n
wait_for "next 1 ·" 60
keys n
# Cancel once initdb has written into the data dir (PG_VERSION comes early;
# bootstrapping takes seconds more), so the retry meets a dir not empty.
deadline=$((SECONDS + 30))
until [[ -f "$lab/primary-data/PG_VERSION" ]] || ((SECONDS >= deadline)); do sleep 0.02; done
[[ -f "$lab/primary-data/PG_VERSION" ]] || die "initdb did not start writing the data dir"
keys C
wait_for "step 1 cancelled" 30
capture
grep -q "failed" <<<"$(row 1)" && die "the cancelled initdb shows as failed: $(row 1)"
if pgrep -f -- "$lab/primary-data" >/dev/null; then die "initdb's processes outlived the cancel"; fi
keys r
wait_for "next 2 ·" 60
[[ "$(row 1)" == *"✓"* ]] || die "the retry of initdb did not succeed: $(row 1)"
keys n
wait_for "next 3 ·" 30
keys n
wait_for "next 4 ·" 60
quit_stopping
echo "tmux-truth: 4. initdb cancelled (not failed), retried to done, and the primary started on it"
fi

# detail: the step detail under the checklist (left of the │), from its
# title row "─ ID " down to the output's title.
detail() {
	capture
	sed 's/│.*//' "$work/screen.txt" | sed -n "/^─ $1 /,/^─ output/p"
}

# --- 5. a hook is read when it runs, and found anew at each pass ---------
if want 5; then
launch hook 100 30
mkdir -p "$lab/hooks"
echo 'echo "hook: first text"' >"$lab/hooks/after-0.primary.sh"
tm kill-server
launch hook 100 30
keys n
wait_for "next 0+1 ·" 30
keys n
wait_for "next 1 ·" 30
[[ "$(detail 0+1)" == *'echo "hook: first text"'* ]] || die "the hook's first run does not show its text: $(detail 0+1)"
echo 'echo "hook: quick now"' >"$lab/hooks/after-0.primary.sh"
keys r
wait_for "run 2 ·" 30
wait_for "next 1 ·" 30
d=$(detail 0+1)
[[ "$d" == *'echo "hook: quick now"'* && "$d" != *"first text"* ]] || die "after the edit and r the screen shows the old hook: $d"
capture
grep -q "^hook: quick now" <(sed 's/│.*//' "$work/screen.txt") || die "the output does not show the edited hook's line"
echo 'echo "hook: third"' >"$lab/hooks/after-0.primary.sh"
echo 'echo "added later"' >"$lab/hooks/after-1.primary.sh"
keys r
wait_for "run 3 ·" 30
wait_for "next 1 ·" 30
[[ "$(detail 0+1)" == *'echo "hook: third"'* ]] || die "the second retry shows an older text: $(detail 0+1)"
[[ -z "$(row 1+1)" ]] || die "a hook added mid-pass showed before step 0 ran again"
keys Home
wait_for '^▸[^[:alnum:]]* 0 ' 5 -E
keys g
wait_for "next 0 ·" 10
keys n
wait_for "next 0+1 ·" 30
[[ "$(row 1+1)" == *"Hook after-1.primary.sh"* ]] || die "the hook added before the new pass is not in the checklist"
keys n
wait_for "next 1 ·" 30
keys n
wait_for "next 1+1 ·" 60
keys n
wait_for "next 2 ·" 30
[[ "$(detail 1+1)" == *'echo "added later"'* ]] || die "the new hook does not show its text: $(detail 1+1)"
quit_stopping
echo "tmux-truth: 5. a hook edited between retries showed and ran as edited; one added joined the next pass"
fi

# --- 6. a stray file fails step 1; rm -rf, then r runs it -----------------
if want 6; then
launch stray 80 24
keys n
wait_for "next 1 ·" 30
mkdir -p "$lab/primary-data"
touch "$lab/primary-data/stray"
keys n
wait_for "step 1 failed" 60
d=$(detail 1)
[[ "$d" == *"initdb: error: directory"* ]] || die "the failure line does not carry initdb's error: $d"
capture
sed 's/│.*//' "$work/screen.txt" | sed -n '/^─ output/,$p' | grep -q "initdb: error: directory" || die "the output pane does not show initdb's error"
keys r
# The status line already says "step 1 failed": wait for the retry's own
# run to have ended instead.
wait_for ", run 2 ·" 60
d=$(detail 1 | sed 's/^ *//; s/ *$//' | tr '\n' ' ')
[[ "$d" == *"remove it yourself or go back to step 0"* ]] || die "the retry's refusal is cut: $d"
rm -rf "$lab/primary-data"
keys r
wait_for "next 2 ·" 60
[[ "$(row 1)" == *"✓"* ]] || die "the retry after rm -rf did not run step 1: $(row 1)"
quit_stopping
echo "tmux-truth: 6. step 1 named initdb's error, and after rm -rf primary-data r ran it"
fi

# panel: the side panel (right of the first │).
panel() {
	capture
	sed -n 's/^[^│]*│//p' "$work/screen.txt"
}

# --- 7. the verdict and the picture at 80x24, normal and presenter -------
if want 7; then
launch small 80 24
keys c
wait_for "end of the playbook" 240
# The refusal repeats as the replica's wal receiver retries: wait for two.
deadline=$((SECONDS + 60))
until (($(grep -c "requested starting point" "$lab/logs/primary.log" || true) >= 2)) || ((SECONDS >= deadline)); do sleep 0.5; done
wait_for "\\(x[0-9]+\\) ERROR: requested" 30 -E
for mode in normal presenter; do
	if [[ $mode == presenter ]]; then
		keys P
		wait_for "▌ STEP P · " 10
	fi
	wait_for "fork 0/" 10
	p=$(panel)
	grep -q "verdict: DIVERGED" <<<"$p" || die "$mode: no verdict in the panel"
	grep -qE "^  replayed TL1 (to 0/[0-9A-F]+, )?past the fork" <<<"$p" || die "$mode: the verdict's words are not whole"
	grep -q "the replica replayed timeline…" <<<"$p" && die "$mode: the verdict is cut mid-sentence"
	grep -qE "^ +fork 0/[0-9A-F]+ *$" <<<"$p" || die "$mode: the fork LSN is not in the picture"
	grep -qE "^  R replica 0/[0-9A-F]+ TL1 *$" <<<"$p" || die "$mode: the replica's position is not shown whole"
	grep -qE "^  TL2 " <<<"$p" || die "$mode: the timeline picture is not on the screen"
	if [[ $mode == normal ]]; then
		grep -qE "recv 0/[0-9A-F]+ *$" <<<"$p" || die "the replica's receive position is cut"
	fi
done
# The d view holds the proof from the data (step P's marker never reached
# the replica); page down to it.
keys d
wait_for "Verdict: DIVERGED" 10
title= conclusion=
for _ in $(seq 1 15); do
	capture
	grep -qF "Proof from the data (agrees with the positions and logs):" "$work/screen.txt" && title=1
	grep -qF "The data agrees with the verdict: the marker row committed" "$work/screen.txt" && conclusion=1
	[[ -n $title && -n $conclusion ]] && break
	prev=$(md5sum <"$work/screen.txt")
	keys NPage
	deadline=$((SECONDS + 3))
	while ((SECONDS < deadline)); do
		capture
		[[ "$(md5sum <"$work/screen.txt")" == "$prev" ]] || break
		sleep 0.1
	done
done
[[ -n $title && -n $conclusion ]] || die "the d view does not show the proof from the data (title: ${title:-no}, conclusion: ${conclusion:-no})"
keys Escape
# Back on the main screen before q: an Escape and a q read together are
# one key, alt+q.
wait_for " steps [━─]" 10 -E
quit_stopping
echo "tmux-truth: 7. at 80x24 the verdict, fork and replica's position showed whole, normal and presenter; the d view showed the proof from the data"
fi
echo "tmux-truth: PASS"
