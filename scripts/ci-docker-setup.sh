#!/usr/bin/env bash
# ci-docker-setup.sh prepares a machine for walstep's Docker tests:
#   1. installs docker.io and debootstrap with apt-get when they are missing,
#   2. starts dockerd in the background when `docker info` does not answer,
#      and waits (with a deadline) until it does,
#   3. builds the registry-free test images with scripts/test-image.sh: the
#      plain PostgreSQL 15 image and the same plus the real WAL-G (-walg),
#      PostgreSQL 17 with WAL-G for explore's two-major e2e, and 18 (Debian
#      sid) with WAL-G for its --image e2e,
#   4. builds the explore runner image with PostgreSQL 15 and 17
#      (scripts/runner-image.sh --pg 15,17: the 17 image plus postgresql-15
#      from bookworm, about 2 minutes) for the sharded-explore e2e.
# It is idempotent: each part is skipped when already done. The plain image's
# tag is printed as the last line.
#
# Environment: DOCKERD_LOG (default /tmp/walstep-dockerd.log),
#              DOCKERD_WAIT seconds (default 60), WALSTEP_TEST_IMAGE.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log="${DOCKERD_LOG:-/tmp/walstep-dockerd.log}"
wait_s="${DOCKERD_WAIT:-60}"

sudo_() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
	# Deduplicate docker.io (listed when either binary is missing).
	mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
	echo "ci-docker-setup: installing ${pkgs[*]}" >&2
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >&2
fi

if ! docker info >/dev/null 2>&1; then
	echo "ci-docker-setup: starting dockerd (log: $log)" >&2
	# setsid: dockerd must outlive this script and not get its signals.
	sudo_ setsid dockerd >"$log" 2>&1 </dev/null &
	deadline=$((SECONDS + wait_s))
	until docker info >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "ci-docker-setup: dockerd did not answer within ${wait_s}s; last log lines:" >&2
			tail -n 20 "$log" >&2 || true
			exit 1
		fi
		sleep 0.5
	done
	echo "ci-docker-setup: dockerd is up" >&2
fi

"$here/test-image.sh" --walg >&2
# walstep explore's Docker e2e runs a second major: PostgreSQL 17 with WAL-G
# (its cp runs use the same image).
"$here/test-image.sh" --pg 17 --walg >&2
# ... and PostgreSQL 18 (Debian sid) with WAL-G, run through --image.
"$here/test-image.sh" --pg 18 --walg >&2
# The sharded-explore e2e runs shards in runner containers (local backend).
# Two majors keep the build short; scripts/runner-image.sh with no --pg
# builds all four for real use.
"$here/runner-image.sh" --pg 15,17 >&2
exec "$here/test-image.sh"
