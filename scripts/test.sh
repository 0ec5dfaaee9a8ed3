#!/usr/bin/env bash
# scripts/test.sh runs walstep's whole test suite, the one command the
# README gives and .ci/run calls. It sets up what the tests need first:
# PostgreSQL 15 server binaries, tmux, PostgreSQL 15's TAP framework
# (src/test/perl from the source package, IPC::Run) for the exported TAP
# tests, Docker (docker.io + dockerd) and the registry-free test image
# (scripts/ci-docker-setup.sh).
#
# Environment:
#   WALSTEP_SKIP_DOCKER=1   do not install or start Docker (Docker tests skip,
#                           except under CI=true where they fail)
#   WALSTEP_SKIP_TMUX=1     skip the tmux end-to-end script
# The real-WAL-G tests unpack ../shared/tools/wal-g/wal-g-v3.0.9-linux-amd64.gz
# themselves (WAL-G's own binary, beside the repository).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql-15)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v pgrep >/dev/null 2>&1 || need+=(procps)
# The exported TAP tests (walstep export --tap) run under prove with
# PostgreSQL's own TAP framework, which needs IPC::Run.
command -v prove >/dev/null 2>&1 || need+=(perl)
perl -MIPC::Run -e 1 >/dev/null 2>&1 || need+=(libipc-run-perl)
if [ "${#need[@]}" -gt 0 ]; then
	echo "test.sh: installing ${need[*]}" >&2
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi

# PostgreSQL::Test::Cluster and its modules, from Debian's postgresql-15
# source package: a deb-src entry, apt-get source --download-only, and only
# src/test/perl extracted, once, into a directory the postgres user (who
# runs the TAP tests) can read. The Go e2e test finds it through
# WALSTEP_TAP_PERL5LIB and fails under CI=true without it.
tap_root=/var/cache/walstep-tap
tap_lib="$tap_root/src/test/perl"
if [ ! -f "$tap_lib/PostgreSQL/Test/Cluster.pm" ]; then
	echo "test.sh: fetching PostgreSQL 15's TAP modules (postgresql-15 source package)" >&2
	if ! grep -rqs 'deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		. /etc/os-release
		printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			"$VERSION_CODENAME" | sudo_ tee /etc/apt/sources.list.d/walstep-src.sources >/dev/null
		sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	fi
	tap_dl="$(mktemp -d)"
	(cd "$tap_dl" && apt-get source --download-only -qq postgresql-15 >&2)
	sudo_ mkdir -p "$tap_root"
	sudo_ tar -xjf "$tap_dl"/postgresql-15_*.orig.tar.bz2 -C "$tap_root" --strip-components=1 --wildcards '*/src/test/perl'
	sudo_ chmod -R a+rX "$tap_root"
	rm -rf "$tap_dl"
fi
export WALSTEP_TAP_PERL5LIB="$tap_lib"
echo "test.sh: TAP modules in $WALSTEP_TAP_PERL5LIB" >&2

if [ "${WALSTEP_SKIP_DOCKER:-}" != 1 ]; then
	WALSTEP_TEST_IMAGE="$(scripts/ci-docker-setup.sh | tail -n 1)"
	export WALSTEP_TEST_IMAGE
	echo "test.sh: docker test image $WALSTEP_TEST_IMAGE" >&2
	# The same plus the real WAL-G (built by ci-docker-setup.sh above;
	# test-image.sh reuses it and prints its tag).
	WALSTEP_TEST_IMAGE_WALG="$(scripts/test-image.sh --walg | tail -n 1)"
	export WALSTEP_TEST_IMAGE_WALG
	echo "test.sh: docker test image with WAL-G $WALSTEP_TEST_IMAGE_WALG" >&2
fi

echo "test.sh: gofmt" >&2
unformatted="$(gofmt -l . | grep -v '^vendor/' || true)"
if [ -n "$unformatted" ]; then
	echo "test.sh: gofmt would change: $unformatted" >&2
	exit 1
fi
echo "test.sh: go vet" >&2
go vet ./...
(cd termdefaults && go vet ./... && go test -count=1 ./...)
echo "test.sh: go test -race" >&2
go test -race -count=1 -parallel 3 -timeout 40m ./...

if [ "${WALSTEP_SKIP_TMUX:-}" != 1 ] && [ -x scripts/tmux-e2e.sh ]; then
	echo "test.sh: tmux end-to-end" >&2
	scripts/tmux-e2e.sh
	echo "test.sh: tmux truth (cancel on quit, log view end, jump back, cancel and retry, hooks read at each run, the stray-dir retry, the verdict at 80x24)" >&2
	scripts/tmux-truth.sh
	echo "test.sh: tmux playbook (a playbook written from scratch to HEALTHY, edited and extended while the debugger runs), local and Docker" >&2
	scripts/tmux-playbook.sh
	BACKEND=docker scripts/tmux-playbook.sh
	echo "test.sh: tmux rewind (g restores a checkpoint and marks steps restored, runs only the steps between, an edited conf is named, --resume), local and Docker" >&2
	scripts/tmux-rewind.sh
	BACKEND=docker scripts/tmux-rewind.sh
	echo "test.sh: tmux nodes (three servers stepped through at 120x40: a line each after every step, HEALTHY, all three in the picture, o selects each), local and Docker" >&2
	scripts/tmux-nodes.sh
	BACKEND=docker scripts/tmux-nodes.sh
	echo "test.sh: tmux failover (the failover whose old primary archives stepped through at 120x40: a line per server after every step, DIVERGED with c marked, c's log with the refusal), local and Docker" >&2
	scripts/tmux-failover.sh
	BACKEND=docker scripts/tmux-failover.sh
fi
echo "test.sh: all passed" >&2
