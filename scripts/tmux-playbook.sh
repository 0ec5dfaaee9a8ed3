#!/usr/bin/env bash
# Drives the real walstep debugger in tmux through a playbook that is not
# the seed's (testdata/playbooks/switch-wal.md, written from scratch):
#   1. on a lab made with init --playbook, c runs every step and the panel
#      shows PostgreSQL's verdict, HEALTHY;
#   2. a step of the lab's playbook.md edited while the debugger runs is
#      read when it starts again (r): its output shows what the edited
#      block runs;
#   3. a step added to playbook.md joins the checklist at the next pass
#      (step 0 run again), and the screen says the playbook changed.
# BACKEND=docker runs it on the Docker backend (IMAGE, default
# walstep-test-pg:15). Exits non-zero with the screen on any failure.
#
#   scripts/tmux-playbook.sh                  # local backend
#   BACKEND=docker scripts/tmux-playbook.sh   # Docker backend
#   KEEP=1 scripts/tmux-playbook.sh           # keep the work dir
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export LC_ALL=C.UTF-8
script_name=tmux-playbook
cleanup_labs() { lab_cleanup; }
# shellcheck source=scripts/tmux-test-lib.sh
. "$root/scripts/tmux-test-lib.sh"
lab_setup wsp wspb

echo "tmux-playbook: building walstep ($backend backend)"
(cd "$root" && go build -o "$bin" .) || die "go build failed"
"$bin" init --playbook "$root/testdata/playbooks/switch-wal.md" "$lab" >/dev/null || die "init --playbook failed"
cmp -s "$lab/playbook.md" "$root/testdata/playbooks/switch-wal.md" || die "init did not write the playbook into the lab"

rm -f "$work/exit" "$work/stderr"
tm new-session -d -s t -x 120 -y 40 \
	"cd '$work' && TERM=xterm-256color NO_COLOR=1 '$bin' ${flags[*]} 2>'$work/stderr'; echo \$? >'$work/exit'"
tm set-option -t t remain-on-exit on >/dev/null
wait_for "next 0 ·" 60

# --- 1. the whole playbook, PostgreSQL's verdict --------------------------
keys c
wait_for "end of the playbook" 300
wait_for "verdict: HEALTHY" 30
for id in 0 1 2 3 4 5 6 7 8; do
	[[ "$(row "$id")" == *"✓"* ]] || die "step $id is not done: $(row "$id")"
done
grep -q "The fix: switch WAL on the primary" "$work/screen.txt" || die "the checklist does not show the playbook's own titles"
echo "tmux-playbook: 1. the switch-wal playbook ran to its end; the verdict is HEALTHY"

# --- 2. an edited step is read when it starts again -----------------------
sed -i 's/^switch-wal primary$/switch-wal primary\nsay EDITED-MARK/' "$lab/playbook.md"
keys Home
wait_for '^▸[^[:alnum:]]* 0 ' 5 -E
for _ in 1 2 3 4 5 6; do keys j; done
wait_for '^▸[^[:alnum:]]* 6 ' 5 -E
keys r
wait_for "EDITED-MARK" 60
grep -q "playbook.md changed since this pass began" "$work/screen.txt" || die "the output does not say the step runs its edited actions"
wait_for "finished · " 120 # the retried step has ended
echo "tmux-playbook: 2. step 6, edited in playbook.md, ran its new actions on r"

# --- 3. a step added joins at the next pass -------------------------------
printf '\n## 9. A step added while the debugger runs\n\n**Watch:** it joins at the next pass\n\n```walstep\nsay ADDED-MARK\n```\n' >>"$lab/playbook.md"
[[ -z "$(row 9)" ]] || die "a step added mid-pass showed before step 0 ran again"
keys Home
wait_for '^▸[^[:alnum:]]* 0 ' 5 -E
keys g
wait_for "next 0 ·" 10
keys n
wait_for "steps added: 9" 120
[[ "$(row 9)" == *"A step added while the debugger"* ]] || die "the added step is not in the checklist: $(row 9)"
echo "tmux-playbook: 3. a step added to playbook.md joined the checklist at the next pass, and the screen said so"

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
echo "tmux-playbook: PASS ($backend)"
