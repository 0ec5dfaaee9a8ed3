#!/usr/bin/env bash
# bench/compare.sh [N] — walstep's wall time against the plain shell script.
#
# Builds walstep, then runs bench/playbook.sh and
#     walstep run --backend local --archiver cp
# alternately N times (default 5), each on a fresh lab dir, and prints each
# pair, the median of the per-pair ratios walstep/script and whether it is
# within the 5% budget (issue 6). The order inside a pair alternates too
# (script first, then walstep first, ...) so a drift in machine load does
# not favour one side. Uses hyperfine when present (one run per
# invocation), else date +%s%N. Always exits 0: read the verdict line.
#
# Environment: BENCH_DIR (where the labs go; default a fresh mktemp dir,
# removed at the end), KEEP=1 keeps the labs, PGBIN and POLL go to the script
# (walstep uses --pg-bin "$PGBIN" when PGBIN is set).
# BACKEND=docker compares `walstep run --backend docker` with
# bench/docker-playbook.sh (IMAGE: the image for both); ARCHIVER=wal-g runs
# both sides with the real WAL-G (on the local backend unpacked from
# ../shared/tools/wal-g, on Docker the image's, default
# walstep-test-pg:15-walg).
set -uo pipefail

N=${1:-5}
BACKEND=${BACKEND:-local}
ARCHIVER=${ARCHIVER:-cp}
case "$N" in '' | *[!0-9]* | 0) echo "usage: $0 [N>0]" >&2; exit 0 ;; esac
BUDGET=1.05
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
OWN_DIR=0
if [ -z "${BENCH_DIR:-}" ]; then
	BENCH_DIR=$(mktemp -d /tmp/walstep-bench.XXXXXX)
	OWN_DIR=1
fi
mkdir -p "$BENCH_DIR"
chmod 755 "$BENCH_DIR" # the servers run as postgres when we are root
BIN=$BENCH_DIR/walstep

echo "== building walstep"
if ! (cd "$ROOT" && go build -o "$BIN" .); then
	echo "compare.sh: go build failed: no comparison" >&2
	exit 0
fi
PGFLAG=()
[ -z "${PGBIN:-}" ] || PGFLAG=(--pg-bin "$PGBIN")
WFLAGS=(--backend "$BACKEND" --archiver "$ARCHIVER")
SCRIPT=("$ROOT/bench/playbook.sh")
if [ "$BACKEND" = docker ]; then
	[ "$ARCHIVER" = cp ] && IMAGE=${IMAGE:-walstep-test-pg:15} || IMAGE=${IMAGE:-walstep-test-pg:15-walg}
	WFLAGS+=(--image "$IMAGE" --init-image "$IMAGE" --prefix "wscmp-$$")
	SCRIPT=(env ARCHIVER="$ARCHIVER" IMAGE="$IMAGE" PREFIX="wscmp-$$-s" "$ROOT/bench/docker-playbook.sh")
elif [ "$ARCHIVER" = wal-g ]; then
	if ! gunzip -c "$ROOT/../shared/tools/wal-g/wal-g-v3.0.9-linux-amd64.gz" >"$BENCH_DIR/wal-g" || ! chmod 755 "$BENCH_DIR/wal-g"; then
		echo "compare.sh: cannot unpack the real WAL-G from ../shared/tools/wal-g: no comparison" >&2
		exit 0
	fi
	WFLAGS+=(--wal-g "$BENCH_DIR/wal-g")
	SCRIPT=(env WALG="$BENCH_DIR/wal-g" "$ROOT/bench/playbook.sh")
fi

# timed LOGFILE CMD...: runs CMD, prints its wall time in ms and its exit status.
timed() {
	local log=$1 t0 t1 rc json flat
	shift
	if command -v hyperfine >/dev/null 2>&1; then
		json=$(mktemp)
		hyperfine --runs 1 --style none --ignore-failure --export-json "$json" \
			--output "$log" "$(printf '%q ' "$@")" >/dev/null 2>&1
		flat=$(tr -d ' \n\t\r' <"$json") # the export is pretty-printed
		rm -f "$json"
		rc=$(grep -o '"exit_codes":\[-*[0-9]*' <<<"$flat" | head -n1 | grep -o -- '-*[0-9]*$')
		t1=$(grep -o '"mean":[0-9.eE+-]*' <<<"$flat" | head -n1 | cut -d: -f2)
		if [ -n "$t1" ]; then
			awk -v s="$t1" -v rc="${rc:-1}" 'BEGIN { printf "%d %d\n", s * 1000, rc }'
			return
		fi
		# an older hyperfine (no --output): time it ourselves
	fi
	t0=$(date +%s%N)
	"$@" >"$log" 2>&1
	rc=$?
	t1=$(date +%s%N)
	echo "$(((t1 - t0) / 1000000)) $rc"
}

one() { # one KIND I: run one side on a fresh lab, print "ms rc"
	local kind=$1 i=$2 lab
	lab=$BENCH_DIR/$kind-$i
	rm -rf "$lab"
	if [ "$kind" = script ]; then
		timed "$BENCH_DIR/$kind-$i.log" "${SCRIPT[@]}" "$lab"
	else
		timed "$BENCH_DIR/$kind-$i.log" "$BIN" run "${WFLAGS[@]}" "${PGFLAG[@]}" --lab "$lab"
	fi
	[ "${KEEP:-0}" = 1 ] || rm -rf "$lab"
}

echo "== backend $BACKEND, archiver $ARCHIVER: ${SCRIPT[*]} against walstep run ${WFLAGS[*]}"
echo "== $N pairs on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), labs in $BENCH_DIR"
printf '%-5s %10s %10s %8s\n' pair script_ms walstep_ms ratio
ratios=()
sms=()
wms=()
bad=0
for i in $(seq 1 "$N"); do
	if [ $((i % 2)) -eq 1 ]; then
		read -r s src < <(one script "$i")
		read -r w wrc < <(one walstep "$i")
	else
		read -r w wrc < <(one walstep "$i")
		read -r s src < <(one script "$i")
	fi
	r=$(awk -v w="$w" -v s="$s" 'BEGIN { printf "%.3f", (s > 0 ? w / s : 0) }')
	note=
	[ "$src" = 0 ] || { note="$note script exit $src (see $BENCH_DIR/script-$i.log)"; bad=1; }
	[ "$wrc" = 0 ] || { note="$note walstep exit $wrc (see $BENCH_DIR/walstep-$i.log)"; bad=1; }
	printf '%-5s %10s %10s %8s%s\n' "$i" "$s" "$w" "$r" "$note"
	ratios+=("$r")
	sms+=("$s")
	wms+=("$w")
done

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mr=$(median "${ratios[@]}")
ms=$(median "${sms[@]}")
mw=$(median "${wms[@]}")

# Where the time goes: both print "[ n/27] ID Title: done in D" per step
# (the script in ms, walstep as a Go duration). Per step, the median over
# the runs of each side; "outside steps" is wall time minus the steps' sum
# (process start, lab set-up, walstep's final report poll, server stops).
steps_of() { # LOG WALL_MS -> "ID ms" lines, then "(outside) ms"
	awk -v wall="$2" '/^\[[ 0-9]+\/[0-9]+\] .*: (done|failed) in / {
		line = $0; sub(/^\[[ 0-9]+\/[0-9]+\] +/, "", line); split(line, f, " ")
		id = f[1]; d = $NF; ms = 0
		if (d ~ /ms$/) ms = d + 0
		else if (d ~ /(µs|us)$/) ms = (d + 0) / 1000
		else if (d ~ /ns$/) ms = 0
		else if (d ~ /m[0-9.]+s$/) { split(d, a, "m"); ms = a[1] * 60000 + a[2] * 1000 }
		else if (d ~ /s$/) ms = d * 1000
		print id, ms; sum += ms }
		END { print "(outside)", wall - sum }' "$1"
}
{
	for i in $(seq 1 "$N"); do
		steps_of "$BENCH_DIR/script-$i.log" "${sms[$((i - 1))]}" | sed 's/^/script /'
		steps_of "$BENCH_DIR/walstep-$i.log" "${wms[$((i - 1))]}" | sed 's/^/walstep /'
	done
} >"$BENCH_DIR/steps.txt"
echo
echo "== per step, median ms over $N runs (only steps differing by 5 ms or more, and the rest summed)"
printf '%-10s %10s %10s %8s\n' step script walstep diff
ids=$(awk '$1 == "script" { print $2 }' "$BENCH_DIR/steps.txt" | awk '!seen[$0]++')
rest_s=0 rest_w=0 sum_s=0 sum_w=0
for id in $ids; do
	s=$(median $(awk -v id="$id" '$1 == "script" && $2 == id { print $3 }' "$BENCH_DIR/steps.txt"))
	w=$(median $(awk -v id="$id" '$1 == "walstep" && $2 == id { print $3 }' "$BENCH_DIR/steps.txt"))
	sum_s=$(awk -v a="$sum_s" -v b="$s" 'BEGIN { print a + b }')
	sum_w=$(awk -v a="$sum_w" -v b="${w:-0}" 'BEGIN { print a + b }')
	if awk -v s="$s" -v w="${w:-0}" 'BEGIN { d = w - s; exit !(d >= 5 || d <= -5) }'; then
		printf '%-10s %10.0f %10.0f %+8.0f\n' "$id" "$s" "${w:-0}" "$(awk -v s="$s" -v w="${w:-0}" 'BEGIN { print w - s }')"
	else
		rest_s=$(awk -v a="$rest_s" -v b="$s" 'BEGIN { print a + b }')
		rest_w=$(awk -v a="$rest_w" -v b="${w:-0}" 'BEGIN { print a + b }')
	fi
done
printf '%-10s %10.0f %10.0f %+8.0f\n' "(others)" "$rest_s" "$rest_w" "$(awk -v s="$rest_s" -v w="$rest_w" 'BEGIN { print w - s }')"
echo
echo "median script ${ms} ms, median walstep ${mw} ms (spread of the ratios: $(printf '%s\n' "${ratios[@]}" | sort -g | sed -n '1p;$p' | paste -sd- -))"
echo "median ratio walstep/script: $mr (budget $BUDGET)"
echo "(less sensitive to one slow step: sums of the per-step medians, script $sum_s ms, walstep $sum_w ms, ratio $(awk -v s="$sum_s" -v w="$sum_w" 'BEGIN { printf "%.3f", (s > 0 ? w / s : 0) }'))"
if [ "$bad" = 1 ]; then
	echo "VERDICT: INCONCLUSIVE — a run failed (logs kept in $BENCH_DIR)"
	OWN_DIR=0
elif awk -v r="$mr" -v b="$BUDGET" 'BEGIN { exit !(r <= b) }'; then
	echo "VERDICT: WITHIN BUDGET — walstep takes ${mr}x the shell script's wall time (budget: at most 5% slower)"
else
	pct=$(awk -v r="$mr" 'BEGIN { printf "%.1f", (r - 1) * 100 }')
	echo "VERDICT: OVER BUDGET — walstep is ${pct}% slower than the shell script (budget 5%)"
fi
if [ "$OWN_DIR" = 1 ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$BENCH_DIR"; fi
exit 0
