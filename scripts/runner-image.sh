#!/usr/bin/env bash
# runner-image.sh builds the image explore shards run in, on Kubernetes, in
# a CI job or in local containers: walstep, several PostgreSQL majors side
# by side under /usr/lib/postgresql/N/bin (walstep's local backend finds
# them) and the real WAL-G. No registry: like test-image.sh it starts from
# a debootstrapped Debian (walstep-test-pg:17, trixie, built by test-image.sh
# when missing) and installs the other majors with apt from the Debian
# suites that ship them: 13 from bullseye, 15 from bookworm, 18 from sid
# (sid's libc comes with it). They co-install: every major has its own
# package names and library sonames.
#
# It also holds scripts/explore-shard.sh as walstep-explore-shard: the
# command a pod or CI job runs (see docs/explore-at-scale.md).
#
# Usage: scripts/runner-image.sh [--pg LIST] [--walstep BIN] [TAG]
#   --pg LIST      majors, comma-separated, from 13, 15, 17, 18
#                  (default 13,15,17,18; 17 is always there: it is the base)
#   --walstep BIN  the walstep binary to put in (default: go build of this
#                  checkout, static)
#   TAG            default walstep-runner:pg13-15-17-18 (the majors joined)
# Environment: WALG_GZ, a gzipped wal-g binary (default: ../shared/tools/wal-g/).
# The slow part, the PostgreSQL layer, is cached as walstep-runner-base:<majors>
# and reused while it exists; walstep is copied in on top each time (seconds).
# The tag is printed as the last line of output.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIST="13,15,17,18"
WALSTEP=""
TAG=""
while [ $# -gt 0 ]; do
	case "$1" in
	--pg) LIST="$2"; shift 2 ;;
	--pg=*) LIST="${1#--pg=}"; shift ;;
	--walstep) WALSTEP="$2"; shift 2 ;;
	--walstep=*) WALSTEP="${1#--walstep=}"; shift ;;
	-h|--help) sed -n '2,24p' "$0"; exit 0 ;;
	-*) echo "runner-image: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) TAG="$1"; shift ;;
	esac
done
majors=()
for v in ${LIST//,/ } 17; do
	case "$v" in
	13|15|17|18) ;;
	*) echo "runner-image: no Debian suite known for PostgreSQL $v (13, 15, 17 or 18)" >&2; exit 2 ;;
	esac
	majors+=("$v")
done
mapfile -t majors < <(printf '%s\n' "${majors[@]}" | sort -n -u)
key="pg$(IFS=-; echo "${majors[*]}")"
BASE="walstep-runner-base:$key"
TAG="${TAG:-walstep-runner:$key}"

work="$(mktemp -d "${TMPDIR:-/tmp}/walstep-runner.XXXXXX")"
cid=""
cleanup() {
	[ -z "$cid" ] || docker rm -f "$cid" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

if docker image inspect "$BASE" >/dev/null 2>&1; then
	echo "runner-image: reusing $BASE" >&2
else
	if [ "$(id -u)" -ne 0 ]; then
		echo "runner-image: chroot and apt need root; run as root or with sudo" >&2
		exit 1
	fi
	gz="${WALG_GZ:-$here/../../shared/tools/wal-g/wal-g-v3.0.9-linux-amd64.gz}"
	[ -f "$gz" ] || { echo "runner-image: $gz not found (the real WAL-G lives in ../shared/tools/wal-g/; elsewhere set WALG_GZ to a gzipped wal-g)" >&2; exit 1; }
	from="$("$here/test-image.sh" --pg 17 | tail -n1)"
	root="$work/root"
	mkdir "$root"
	echo "runner-image: unpacking $from" >&2
	cid="$(docker create "$from" /bin/true)"
	docker export "$cid" | tar -C "$root" -x
	docker rm -f "$cid" >/dev/null
	cid=""
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	suites=(trixie)
	pkgs=()
	sid=0
	for v in "${majors[@]}"; do
		case "$v" in
		13) suites+=(bullseye); pkgs+=(postgresql-13) ;;
		15) suites+=(bookworm); pkgs+=(postgresql-15) ;;
		18) suites+=(sid); sid=1 ;;
		esac
	done
	: >"$root/etc/apt/sources.list"
	for s in "${suites[@]}"; do
		echo "deb http://deb.debian.org/debian $s main" >>"$root/etc/apt/sources.list"
	done
	# Everything comes from trixie unless asked for by suite: the older
	# suites only fill in their major's own packages and libraries.
	cat >"$root/etc/apt/preferences.d/walstep-runner" <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 900

Package: *
Pin: release n=bookworm
Pin-Priority: 50

Package: *
Pin: release n=bullseye
Pin-Priority: 40

Package: *
Pin: release n=sid
Pin-Priority: 30
PIN
	apt_() { chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false -o Dpkg::Use-Pty=0 "$@" >&2; }
	echo "runner-image: apt-get install ${pkgs[*]:-}$([ "$sid" = 1 ] && echo " postgresql-18 (sid)")" >&2
	apt_ update -qq
	if [ "${#pkgs[@]}" -gt 0 ]; then
		apt_ install -y -q --no-install-recommends "${pkgs[@]}"
	fi
	if [ "$sid" = 1 ]; then
		apt_ install -y -q --no-install-recommends -t sid postgresql-18
	fi
	# The packages' "main" clusters are never used: servers run in labs.
	for v in "${majors[@]}"; do
		rm -rf "$root/var/lib/postgresql/$v" "$root/etc/postgresql/$v"
	done
	gunzip -c "$gz" >"$root/usr/local/bin/wal-g"
	chmod 755 "$root/usr/local/bin/wal-g"
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
		"$root"/usr/share/doc/* "$root"/usr/share/man/*
	: >"$root/etc/resolv.conf"
	for v in "${majors[@]}"; do
		chroot "$root" "/usr/lib/postgresql/$v/bin/postgres" -V >&2
	done
	echo "runner-image: importing as $BASE" >&2
	tar -C "$root" --exclude=./proc/* --exclude=./sys/* -c . |
		docker import \
			--change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
			--change "ENV LANG=C.UTF-8" \
			--change "WORKDIR /work" \
			--change 'CMD ["/bin/bash"]' \
			- "$BASE" >&2
	rm -rf "$root"
fi

if [ -z "$WALSTEP" ]; then
	WALSTEP="$work/walstep"
	echo "runner-image: building walstep" >&2
	(cd "$here/.." && CGO_ENABLED=0 go build -o "$WALSTEP" .) >&2
fi
[ -x "$WALSTEP" ] || { echo "runner-image: $WALSTEP is not an executable" >&2; exit 1; }
old="$(docker image inspect -f '{{.Id}}' "$TAG" 2>/dev/null || true)"
cid="$(docker create "$BASE" /bin/true)"
docker cp "$WALSTEP" "$cid:/usr/local/bin/walstep" >&2
docker cp "$here/explore-shard.sh" "$cid:/usr/local/bin/walstep-explore-shard" >&2
docker commit "$cid" "$TAG" >/dev/null
# The image this tag named before is dropped, unless a container uses it.
if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$TAG")" ]; then
	docker rmi "$old" >/dev/null 2>&1 || true
fi
echo "runner-image: $TAG = $BASE + walstep ($("$WALSTEP" help 2>/dev/null | head -n1 || echo walstep))" >&2
echo "$TAG"
