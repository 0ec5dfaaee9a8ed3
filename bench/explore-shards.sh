#!/usr/bin/env bash
# explore-shards.sh runs one small matrix (3 variants × PostgreSQL 15, 17 ×
# cp, the sharded e2e's) in runner containers on this machine: whole with
# --jobs 2, then as 3 shards side by side with --jobs 1 each, then merges
# them; then each shard alone, as it would run on a machine of its own.
# Prints each one's wall time, its runs' and prefixes' own times, and
# whether the merged verdicts equal the whole run's.
# Usage: bench/explore-shards.sh [ROUNDS]   (default 1; needs root, Docker
# and scripts/runner-image.sh --pg 15,17, which it builds when missing)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROUNDS="${1:-1}"
IMG=walstep-runner:pg15-17
work="$(mktemp -d "${TMPDIR:-/tmp}/walstep-bench-shards.XXXXXX")"
names=()
trap 'for n in "${names[@]}"; do docker rm -f "$n" >/dev/null 2>&1 || true; done; rm -rf "$work"' EXIT
(cd "$here/.." && CGO_ENABLED=0 go build -o "$work/walstep" .)
docker image inspect "$IMG" >/dev/null 2>&1 || "$here/../scripts/runner-image.sh" --pg 15,17 --walstep "$work/walstep" >/dev/null
ms() { date +%s%3N; }
run() { # name results env…
	local n="$1" r="$2"; shift 2
	names+=("$n")
	local e=()
	for x in "$@"; do e+=(-e "$x"); done
	docker run --rm --name "$n" --network none --shm-size 256m -v "$work/walstep:/usr/local/bin/walstep:ro" \
		-v "$here/../scripts/explore-shard.sh:/usr/local/bin/walstep-explore-shard:ro" -v "$r:/results" \
		-e PG=15,17 -e ARCHIVERS=cp -e VARIANTS=default,no-target,switch-after-13 "${e[@]}" "$IMG" walstep-explore-shard >"$r.log" 2>&1
}
summary() { # matrix.json…: runs, prefixes, their own times
	jq -rs '"\([.[].cells[].results[]] | length) runs (\([.[].cells[].results[].ms] | add / 1000 | floor) s of their own), \([.[].prefixes[]] | length) prefixes (\([.[].prefixes[].ms] | add / 1000 | floor) s)"' "$@"
}
verdicts() { jq -r '.cells[] | "\(.variant) pg\(.pg) \(.archiver): \(.verdicts | to_entries | map("\(.key) \(.value)") | join(","))"' "$1" | sort; }
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC')"
for i in $(seq "$ROUNDS"); do
	w="$work/r$i-whole" s="$work/r$i-shards"
	mkdir -p "$w" "$s"
	t0=$(ms)
	run "wsb-$$-$i-whole" "$w" JOBS=2
	t1=$(ms)
	for k in 1 2 3; do run "wsb-$$-$i-$k" "$s" JOBS=1 SHARD="$k/3" & done
	wait
	t2=$(ms)
	"$work/walstep" explore merge --out "$s/merged" "$s" >/dev/null
	echo "round $i: whole --jobs 2: $((t1 - t0)) ms, $(summary "$w"/whole/lab/explore/*/matrix.json)"
	echo "round $i: 3 shards × --jobs 1 side by side: $((t2 - t1)) ms, $(summary "$s"/shard-*/lab/explore/*/matrix.json)"
	for k in 1 2 3; do
		echo "  shard $k/3: $(jq -r '"\(.wall_ms) ms wall, cells \([.cells[] | "\(.variant) pg\(.pg)"] | join(", "))"' "$s"/shard-$k/lab/explore/*/matrix.json)"
	done
	alone=()
	for k in 1 2 3; do
		a="$work/r$i-alone-$k"
		mkdir -p "$a"
		t3=$(ms)
		run "wsb-$$-$i-alone-$k" "$a" JOBS=1 SHARD="$k/3"
		alone+=($(($(ms) - t3)))
	done
	echo "  each shard alone (its own machine's stand-in): ${alone[*]} ms; the slowest: $(printf '%s\n' "${alone[@]}" | sort -n | tail -n1) ms"
	if diff <(verdicts "$w"/whole/lab/explore/*/matrix.json) <(verdicts "$s/merged/matrix.json") >/dev/null; then
		echo "  merged verdicts = whole verdicts"
	else
		echo "  merged verdicts differ:"; diff <(verdicts "$w"/whole/lab/explore/*/matrix.json) <(verdicts "$s/merged/matrix.json") || true
	fi
done
