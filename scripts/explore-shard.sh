#!/usr/bin/env bash
# explore-shard.sh runs one shard of a walstep explore matrix on the local
# backend, as a Kubernetes Indexed Job's pod, a CI matrix job or a local
# container does: the runner image (scripts/runner-image.sh) has it as
# /usr/local/bin/walstep-explore-shard. Each shard gets a lab of its own,
# $RESULTS/shard-K/lab, whose explore/<time>/ holds matrix.json (rewritten
# after every run, so a killed shard keeps its finished cells) and the runs'
# transcripts; `walstep explore merge $RESULTS` folds them into one matrix.
#
# Environment:
#   SHARD       K/N; else
#   SHARDS      N, with JOB_COMPLETION_INDEX (0-based, set by Kubernetes)
#               giving K = index + 1; with neither, the whole matrix runs
#   RESULTS     where the labs go (default /results)
#   PG          PostgreSQL majors (default 13,15,17,18)
#   ARCHIVERS   default cp,wal-g
#   VARIANTS    comma-separated; default: every variant of the lab
#   REPEAT      runs per cell (default 1)
#   JOBS        runs at a time within the shard (default 2)
set -euo pipefail

RESULTS="${RESULTS:-/results}"
PG="${PG:-13,15,17,18}"
ARCHIVERS="${ARCHIVERS:-cp,wal-g}"
VARIANTS="${VARIANTS:-}"
REPEAT="${REPEAT:-1}"
JOBS="${JOBS:-2}"
shard=()
name=whole
if [ -z "${SHARD:-}" ] && [ -n "${JOB_COMPLETION_INDEX:-}" ]; then
	if [ -z "${SHARDS:-}" ]; then
		echo "explore-shard: JOB_COMPLETION_INDEX=$JOB_COMPLETION_INDEX but no SHARDS: set SHARDS to the Job's completions" >&2
		exit 2
	fi
	SHARD="$((JOB_COMPLETION_INDEX + 1))/$SHARDS"
fi
if [ -n "${SHARD:-}" ]; then
	shard=(--shard "$SHARD")
	name="shard-${SHARD%/*}"
fi
lab="$RESULTS/$name/lab"
# walstep refuses a lab under a directory others may write (a volume's
# root is often 0777): nobody but this job writes the results.
chmod go-w "$RESULTS" 2>/dev/null || true
mkdir -p "$RESULTS/$name"
chmod 755 "$RESULTS/$name" # the servers run as postgres and must reach the lab
echo "explore-shard: ${SHARD:-whole matrix} of PostgreSQL $PG × $ARCHIVERS × ${VARIANTS:-every variant}, $REPEAT run(s) per cell, into $lab" >&2
exec walstep explore --lab "$lab" --backend local --pg "$PG" --archiver "$ARCHIVERS" --variants "$VARIANTS" \
	--repeat "$REPEAT" --jobs "$JOBS" "${shard[@]}"
