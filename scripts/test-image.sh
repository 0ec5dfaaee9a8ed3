#!/usr/bin/env bash
# test-image.sh builds PostgreSQL images for walstep's Docker tests without
# any image registry (none is reachable on the test machines): debootstrap a
# minimal Debian with postgresql-MAJOR, then `docker import` the tree with
# PATH pointing at the PostgreSQL binaries. With --walg it adds the real
# WAL-G from ../shared/tools/wal-g/ at /usr/local/bin/wal-g, as the seed's
# postgres_repro:latest has it.
#
# Usage: scripts/test-image.sh [--pg MAJOR] [--walg] [TAG]
#   --pg MAJOR   13 (bullseye), 15 (bookworm, the default), 17 (trixie) or
#                18 (sid: no released Debian suite ships 18 yet)
#   --walg       add WAL-G (built on top of the plain image of that major)
#   TAG          default walstep-test-pg:MAJOR, or walstep-test-pg:MAJOR-walg;
#                without --pg/--walg, $WALSTEP_TEST_IMAGE when set
# An existing image with that tag is reused. The tag is printed as the last
# line of output so callers can capture it with `| tail -n1`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PG_MAJOR=15
WALG=0
TAG=""
explicit=0
while [ $# -gt 0 ]; do
	case "$1" in
	--pg) PG_MAJOR="$2"; explicit=1; shift 2 ;;
	--pg=*) PG_MAJOR="${1#--pg=}"; explicit=1; shift ;;
	--walg) WALG=1; explicit=1; shift ;;
	-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
	-*) echo "test-image: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) TAG="$1"; shift ;;
	esac
done
case "$PG_MAJOR" in
13) SUITE=bullseye ;;
15) SUITE=bookworm ;;
17) SUITE=trixie ;;
18) SUITE=sid ;;
*) echo "test-image: no Debian suite known for PostgreSQL $PG_MAJOR (13, 15, 17 or 18)" >&2; exit 2 ;;
esac
BASE="walstep-test-pg:$PG_MAJOR"
if [ -z "$TAG" ]; then
	if [ "$explicit" = 0 ] && [ -n "${WALSTEP_TEST_IMAGE:-}" ]; then
		TAG="$WALSTEP_TEST_IMAGE"
		BASE="$TAG"
	elif [ "$WALG" = 1 ]; then
		TAG="$BASE-walg"
	else
		TAG="$BASE"
	fi
fi

if docker image inspect "$TAG" >/dev/null 2>&1; then
	echo "test-image: reusing existing image $TAG" >&2
	echo "$TAG"
	exit 0
fi

if [ "$WALG" = 1 ]; then
	gz="$here/../../shared/tools/wal-g/wal-g-v3.0.9-linux-amd64.gz"
	[ -f "$gz" ] || { echo "test-image: $gz not found (the real WAL-G lives in ../shared/tools/wal-g/)" >&2; exit 1; }
	"$0" --pg "$PG_MAJOR" "$BASE" >/dev/null
	work="$(mktemp -d "${TMPDIR:-/tmp}/walstep-walg.XXXXXX")"
	cid=""
	trap 'rm -rf "$work"; [ -z "$cid" ] || docker rm -f "$cid" >/dev/null 2>&1 || true' EXIT
	gunzip -c "$gz" >"$work/wal-g"
	chmod 755 "$work/wal-g"
	cid="$(docker create "$BASE" /bin/true)"
	docker cp "$work/wal-g" "$cid:/usr/local/bin/wal-g" >&2
	docker commit "$cid" "$TAG" >&2
	echo "test-image: $TAG = $BASE + WAL-G $("$work/wal-g" --version 2>/dev/null | cut -f1)" >&2
	echo "$TAG"
	exit 0
fi

for tool in debootstrap docker tar; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "test-image: $tool not found (scripts/ci-docker-setup.sh installs it)" >&2
		exit 1
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	echo "test-image: debootstrap needs root; run as root or with sudo" >&2
	exit 1
fi

ROOTFS="$(mktemp -d "${TMPDIR:-/tmp}/walstep-rootfs.XXXXXX")"
# debootstrap leaves root-owned files and possibly mounted /proc behind on
# failure; clean both so a retry starts fresh and nothing leaks outside TMPDIR.
cleanup() {
	for m in proc sys dev/pts dev; do
		if mountpoint -q "$ROOTFS/$m" 2>/dev/null; then umount -l "$ROOTFS/$m" || true; fi
	done
	rm -rf "$ROOTFS"
}
trap cleanup EXIT

echo "test-image: debootstrap $SUITE with postgresql-$PG_MAJOR into $ROOTFS (about 80 s)" >&2
# No mirror argument: debootstrap's default Debian mirror is reachable here.
debootstrap --variant=minbase --include="postgresql-$PG_MAJOR" "$SUITE" "$ROOTFS" >&2

# The Debian package creates a "main" cluster under /var/lib/postgresql; walstep
# never uses it (servers run on /data), so drop it to keep the image small.
rm -rf "$ROOTFS/var/lib/postgresql/$PG_MAJOR" "$ROOTFS/etc/postgresql/$PG_MAJOR"
# The unix-socket directory libpq and postgres default to. postgres (from the
# package) owns it, so servers run with --user postgres can create sockets and
# psql without PGHOST works inside the containers too.
mkdir -p "$ROOTFS/var/run/postgresql"
chroot "$ROOTFS" chown postgres:postgres /var/run/postgresql
chmod 2775 "$ROOTFS/var/run/postgresql"
# apt caches and docs are not needed at run time.
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* \
	"$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/*

PATH_IN_IMAGE="/usr/lib/postgresql/$PG_MAJOR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
echo "test-image: importing as $TAG" >&2
# Exclude the pseudo-filesystems' contents in case debootstrap left them mounted.
tar -C "$ROOTFS" --exclude=./proc/* --exclude=./sys/* -c . |
	docker import \
		--change "ENV PATH=$PATH_IN_IMAGE" \
		--change "ENV LANG=C.UTF-8" \
		--change 'CMD ["/bin/bash"]' \
		- "$TAG" >&2

echo "$TAG"
