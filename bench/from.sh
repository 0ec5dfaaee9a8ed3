#!/usr/bin/env bash
# bench/from.sh [N] — run --from 12 --repeat N against run --repeat N on
# the same lab, side by side.
#
# Builds walstep, makes one lab, then runs
#     walstep run --repeat N --json                (every step, N times)
#     walstep run --from 12 --repeat N --json      (steps 0–11 restored)
# and prints each side's wall time, the ratio, and both verdict counts
# (the race is the same race: they should agree). The --from side's first
# run keeps the checkpoint when the lab has none; the script runs --from
# once with --repeat 1 first so the N timed runs all restore. Always exits
# 0: read the lines it prints.
#
# Environment: BACKEND=docker (IMAGE, default walstep-test-pg:15),
# BENCH_DIR (default a fresh mktemp dir, removed at the end), KEEP=1,
# WITHOUT_P=1 (the lab's playbook without its last step P, whose marker
# check waits its full 5 s for a diverged replica on both sides).
set -uo pipefail

N=${1:-20}
BACKEND=${BACKEND:-local}
IMAGE=${IMAGE:-walstep-test-pg:15}
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
OWN_DIR=0
if [ -z "${BENCH_DIR:-}" ]; then
	BENCH_DIR=$(mktemp -d /tmp/walstep-from.XXXXXX)
	OWN_DIR=1
fi
mkdir -p "$BENCH_DIR"
chmod 755 "$BENCH_DIR"
BIN=$BENCH_DIR/walstep
LAB=$BENCH_DIR/lab
FLAGS=(--lab "$LAB" --backend "$BACKEND" --archiver cp)
if [ "$BACKEND" = docker ]; then
	FLAGS+=(--image "$IMAGE" --init-image "$IMAGE" --prefix "wsfrom-$$")
fi
cleanup() {
	"$BIN" clean "${FLAGS[@]}" >/dev/null 2>&1 || true
	if [ -z "${KEEP:-}" ] && [ "$OWN_DIR" = 1 ]; then rm -rf "$BENCH_DIR"; fi
}
trap cleanup EXIT

echo "== building walstep"
(cd "$ROOT" && go build -o "$BIN" .) || { echo "from.sh: go build failed" >&2; exit 0; }
"$BIN" init "$LAB" >/dev/null || { echo "from.sh: init failed" >&2; exit 0; }
if [ -n "${WITHOUT_P:-}" ]; then
	sed -i '/^## P\. /,$d' "$LAB/playbook.md"
	echo "== the lab's playbook without step P"
fi
echo "== $(date -u '+%F %T UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), backend $BACKEND"

verdicts() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(", ".join("%s %d/%d" % (k, v, len(r["runs"])) for k, v in sorted(r["verdicts"].items())))' "$1"; }
now() { date +%s.%N; }

echo "== run --repeat $N"
t0=$(now)
"$BIN" run "${FLAGS[@]}" --repeat "$N" --json >"$BENCH_DIR/full.json" 2>"$BENCH_DIR/full.err"
t1=$(now)
echo "== run --from 12 (keeps the checkpoint)"
"$BIN" run "${FLAGS[@]}" --from 12 --json >/dev/null 2>"$BENCH_DIR/first.err"
echo "== run --from 12 --repeat $N"
t2=$(now)
"$BIN" run "${FLAGS[@]}" --from 12 --repeat "$N" --json >"$BENCH_DIR/from.json" 2>"$BENCH_DIR/from.err"
t3=$(now)
full=$(echo "$t1 - $t0" | bc -l)
from=$(echo "$t3 - $t2" | bc -l)
printf 'run --repeat %d:           %6.1f s  verdicts: %s\n' "$N" "$full" "$(verdicts "$BENCH_DIR/full.json")"
printf 'run --from 12 --repeat %d: %6.1f s  verdicts: %s\n' "$N" "$from" "$(verdicts "$BENCH_DIR/from.json")"
printf 'speed-up: %.1fx (budget: >= 5x)\n' "$(echo "$full / $from" | bc -l)"
grep -m2 "restored the checkpoint" "$BENCH_DIR/from.err" | tail -1 || true
steps() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(" ".join("%s=%.0f" % (s["id"], 1000*s["median_seconds"]) for s in r["steps"]), "(median ms)")' "$1"; }
echo "per step, run --repeat:  $(steps "$BENCH_DIR/full.json")"
echo "per step, run --from 12: $(steps "$BENCH_DIR/from.json")"
echo "== $(date -u '+%F %T UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
