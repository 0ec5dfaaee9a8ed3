#!/usr/bin/env bash
# explore.sh compares `walstep explore` on three variants (local backend, cp)
# with three plain `walstep run`s of the same variants one after another.
# Usage: bench/explore.sh [N]  (N rounds, default 3; each round runs, in
# turn: the three runs, explore with its defaults, explore --no-share
# --jobs 1). Prints one line per measurement and the medians; exits 0.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
N="${1:-3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/walstep-bench-explore.XXXXXX")"
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
(cd "$here/.." && go build -o "$work/walstep" .)
W="$work/walstep"
VARIANTS="default no-target switch-after-13"
ms() { date +%s%3N; }

"$W" init "$work/base" >/dev/null
for v in $VARIANTS; do
	# A lab per variant: the base lab's files with the variant's over them.
	cp -r "$work/base" "$work/lab-$v"
	rm -rf "$work/lab-$v/variants"
	(cd "$work/base/variants/$v" && find . -type f ! -name README -exec cp --parents {} "$work/lab-$v/" \;)
done

runs=(); share=(); plain=()
for i in $(seq "$N"); do
	t0=$(ms)
	for v in $VARIANTS; do "$W" run --lab "$work/lab-$v" --backend local --archiver cp >/dev/null; done
	t1=$(ms)
	"$W" explore --lab "$work/base" --backend local --archiver cp --variants "${VARIANTS// /,}" >/dev/null
	t2=$(ms)
	"$W" explore --lab "$work/base" --backend local --archiver cp --variants "${VARIANTS// /,}" --no-share --jobs 1 >/dev/null
	t3=$(ms)
	runs+=($((t1 - t0))); share+=($((t2 - t1))); plain+=($((t3 - t2)))
	echo "round $i: 3 x walstep run ${runs[-1]} ms; explore (shared prefix, --jobs $(nproc)) ${share[-1]} ms; explore --no-share --jobs 1 ${plain[-1]} ms; load $(cut -d' ' -f1 /proc/loadavg)"
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }
echo "median: 3 x walstep run $(med "${runs[@]}") ms; explore $(med "${share[@]}") ms; explore --no-share --jobs 1 $(med "${plain[@]}") ms"
