#!/bin/bash
# run-all.sh [RUNS] [SCRIPT:VARIANT...]: run each variant RUNS times and
# print one line per run with its outcome; full output in $OUT (default
# /tmp/walstep-field-out).
runs=${1:-3}; shift || true
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-/tmp/walstep-field-out}
mkdir -p "$out"
for sv in "$@"; do
	s=${sv%%:*} v=${sv#*:}
	for i in $(seq 1 "$runs"); do
		f=$out/$s-$v-$i.log
		"$here/$s.sh" "$v" >"$f" 2>&1
		echo "$s $v run $i: $(grep '^OUTCOME' "$f" || echo "no outcome (exit $?, see $f)")"
	done
done
