#!/usr/bin/env bash
# test-image.sh builds a PostgreSQL 15 image for walstep's Docker tests
# without any image registry (none is reachable on the test machines):
# debootstrap a minimal Debian bookworm with postgresql-15, then
# `docker import` the tree with PATH pointing at the PostgreSQL binaries.
#
# The image serves as both --init-image and --image in tests (with the cp
# archiver, since WAL-G cannot be installed here).
#
# Usage: scripts/test-image.sh [TAG]     (default: $WALSTEP_TEST_IMAGE or
#                                          walstep-test-pg:15)
# An existing image with that tag is reused. The tag is printed as the last
# line of output so callers can capture it with `| tail -n1`.
set -euo pipefail

TAG="${1:-${WALSTEP_TEST_IMAGE:-walstep-test-pg:15}}"
PG_MAJOR=15
SUITE=bookworm

if docker image inspect "$TAG" >/dev/null 2>&1; then
	echo "test-image: reusing existing image $TAG" >&2
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
