#!/usr/bin/env bash
# bench/docker-playbook.sh LAB — the Docker baseline for walstep's budget.
#
# Performs the playbook of
#     walstep run --backend docker --archiver $ARCHIVER --lab LAB
# with the plain docker CLI, as the seed does: initdb in a `docker run --rm`,
# conf appends and signal files with root on the host (the seed's sudo),
# servers as `docker run -d --user postgres … postgres -D /data` on a
# network of their own with the seed's bind mounts, both servers of step 12
# started together (compose's `up -d`), backups fetched in `docker run
# --rm`, through F6 (the replica started as a streaming standby until it
# streams or logs a FATAL/PANIC/ERROR) and the proof step P (a marker row
# committed on the primary, looked for on the replica for up to 5 s); then
# it stops and removes both.
#
# Waits read postmaster.pid's status line through the bind mount and the
# container state (as walstep does) every $POLL seconds (default 0.025, as
# walstep's cluster.PollInterval) up to $WAIT seconds (default 60).
# Runs as root (it reads the postgres-owned data dirs on the host).
#
# Environment: IMAGE (default walstep-test-pg:15, or walstep-test-pg:15-walg
# with ARCHIVER=wal-g), ARCHIVER (cp or wal-g; default cp), PREFIX (container
# names; default wsbench-<pid>), POLL, WAIT, VERBOSE=1.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 LAB" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "docker-playbook.sh: run as root (it reads the servers' data dirs)" >&2; exit 2; }
POLL=${POLL:-0.025}
WAIT=${WAIT:-60}
VERBOSE=${VERBOSE:-0}
ARCHIVER=${ARCHIVER:-cp}
case "$ARCHIVER" in cp) IMAGE=${IMAGE:-walstep-test-pg:15} ;; wal-g) IMAGE=${IMAGE:-walstep-test-pg:15-walg} ;; *) echo "ARCHIVER is cp or wal-g" >&2; exit 2 ;; esac
P=${PREFIX:-wsbench-$$}
NET=$P-net

mkdir -p "$1"
LAB=$(cd "$1" && pwd -P)
case "$LAB" in /|"$HOME") echo "docker-playbook.sh: refuse lab $LAB" >&2; exit 2 ;; esac
[ -f "$LAB/primary_restore.conf" ] || printf "recovery_target = 'immediate'\nrecovery_target_action = 'promote'\n" >"$LAB/primary_restore.conf"
[ -f "$LAB/replica_restore.conf" ] || printf "recovery_target = 'immediate'\nrecovery_target_action = 'shutdown'\n" >"$LAB/replica_restore.conf"
[ -f "$LAB/replica_standby.conf" ] || printf "primary_conninfo = 'host=\${PRIMARY_HOST} port=\${PRIMARY_PORT} user=postgres password=postgres'\nprimary_slot_name = 'replica'\n" >"$LAB/replica_standby.conf"

PD=$LAB/primary-data RD=$LAB/replica-data STORAGE=$LAB/wal-g-storage
declare -A DATA=([primary]=$PD [replica]=$RD) CONF=([primary]=$LAB/primary-config [replica]=$LAB/replica-config)
if [ "$ARCHIVER" = cp ]; then
	ARCHIVE_CMD="test ! -f /wal-g-storage/wal_005/%f && cp %p /wal-g-storage/wal_005/%f"
	RESTORE_CMD="cp /wal-g-storage/wal_005/%f %p"
else
	ARCHIVE_CMD="/usr/local/bin/wal-g --config /wal-g.json wal-push %p"
	RESTORE_CMD="/usr/local/bin/wal-g --config /wal-g.json wal-fetch %f %p"
fi
ENVS=(-e PGHOST=127.0.0.1 -e PGPORT=5432 -e PGUSER=postgres -e PGDATABASE=postgres -e PGDATA=/data)
mounts() { # the seed's bind mounts for node $1
	MOUNTS=(-v "${DATA[$1]}:/data" -v "$STORAGE:/wal-g-storage" -v "${CONF[$1]}:/custom-pg-configs")
	[ "$ARCHIVER" = cp ] || MOUNTS+=(-v "$LAB/run/wal-g.json:/wal-g.json:ro")
}

exec 3>&1 4>&2
[ "$VERBOSE" = 1 ] || exec >/dev/null 2>&1
NSTEPS=28 I=0 STEP_T0=0 STEP_ID=-
now_us() { NOW=${EPOCHREALTIME/[.,]/}; }
step() { I=$((I + 1)); now_us; STEP_T0=$NOW; STEP_ID=$1 STEP_TITLE=$2; printf '[%2d/%d] %-4s %s ...\n' "$I" "$NSTEPS" "$1" "$2" >&3; }
done_step() { now_us; printf '[%2d/%d] %-4s %s: done in %dms\n' "$I" "$NSTEPS" "$STEP_ID" "$STEP_TITLE" $(((NOW - STEP_T0) / 1000)) >&3; }
fail() { echo "docker-playbook.sh: step $STEP_ID: $*" >&4; down; exit 1; }

running() { [ "$(docker inspect -f '{{.State.Running}}' "$P-$1" 2>/dev/null)" = true ]; }
status() { sed -n 8p "${DATA[$1]}/postmaster.pid" 2>/dev/null | tr -d ' '; }
until_ok() { # WHAT CMD...
	local what=$1 deadline
	shift
	now_us
	deadline=$((NOW + WAIT * 1000000))
	until "$@"; do
		now_us
		[ "$NOW" -lt "$deadline" ] || fail "wait for $what: deadline passed"
		sleep "$POLL"
	done
}
run_server() { # docker compose up -d NODE
	mounts "$1"
	docker run -d --name "$P-$1" --hostname "$1" --network "$NET" --network-alias "$1" --user postgres \
		--stop-signal SIGINT -p 127.0.0.1::5432 "${MOUNTS[@]}" "${ENVS[@]}" "$IMAGE" \
		postgres -D /data -c listen_addresses='*'
}
remove_server() { # docker compose stop NODE; keep its log; docker compose rm
	docker inspect "$P-$1" >/dev/null 2>&1 || return 0
	docker stop "$P-$1" || true
	docker logs "$P-$1" >>"$LAB/logs/$1.log" 2>&1 || true
	docker rm -f "$P-$1"
}
down() { remove_server replica || true; remove_server primary || true; docker network rm "$NET" || true; }
trap 'down; exit 130' INT TERM
psql_in() { docker exec -u postgres "$P-$1" psql -X -v ON_ERROR_STOP=1 "${@:2}"; }
ready() { running "$1" && [ "$(status "$1")" = ready ]; }
promoted() { running "$1" || fail "$1 exited"; ready "$1" && [ "$(psql_in "$1" -Atc 'select pg_is_in_recovery()')" = f ]; }
exited() { ! running "$1"; }
said_target() { docker logs "$P-replica" 2>&1 | grep -q "shutdown at recovery target"; }
at_target() { # the replica exited, at its recovery target
	[ "$(docker inspect -f '{{.State.ExitCode}}' "$P-replica")" = 0 ] || fail "replica crashed"
	# The engine may hand over a container's last log lines a moment
	# after it exited.
	WAIT=5 until_ok "the replica's log to say it stopped at its target" said_target
}
append() { local f=$1; shift; printf '%s\n' "$@" >>"$f"; }

step 0 "Prepare the lab"
down
rm -rf "$PD" "$RD" "$STORAGE" "$LAB/primary-config" "$LAB/replica-config" "$LAB/logs" "$LAB/run"
mkdir -p "$LAB/primary-config" "$LAB/replica-config" "$LAB/logs" "$LAB/run" "$STORAGE"
[ "$ARCHIVER" = wal-g ] || mkdir -p "$STORAGE/wal_005" "$STORAGE/basebackups_005"
[ "$ARCHIVER" = cp ] || printf '{\n  "WALG_FILE_PREFIX": "/wal-g-storage",\n  "WALG_COMPRESSION_METHOD": "lz4",\n  "PGUSER": "postgres",\n  "PGDATABASE": "postgres",\n  "PGHOST": "primary",\n  "PGPORT": "5432"\n}\n' >"$LAB/run/wal-g.json"
done_step

step 1 "Initialise the primary's data dir"
docker network create "$NET"
GW=$(docker network inspect -f '{{(index .IPAM.Config 0).Gateway}}' "$NET")
mkdir -p "$PD"
docker run --rm -v "$PD:/data" "$IMAGE" sh -c "set -e; chown -R postgres:postgres /data; su postgres -c 'initdb -D /data --username=postgres'; echo 'host all postgres $GW/32 trust' >> /data/pg_hba.conf"
done_step

step 2 "Turn on archiving in the primary's postgresql.conf"
append "$PD/postgresql.conf" "include_dir = '/custom-pg-configs'" "archive_mode = on" "archive_command = '$ARCHIVE_CMD'"
done_step

step 3 "Start the primary"
run_server primary
until_ok "primary to promote" promoted primary
done_step

step 4 "Enter the primary's environment"
docker exec -u root "$P-primary" sh -c 'echo "shell available in the primary'"'"'s environment: $(uname -n)"'
done_step
step 4a "Hand the WAL storage to postgres"
docker exec -u root "$P-primary" chown -R postgres:postgres /wal-g-storage
done_step
step 4b "Switch to the postgres user"
docker exec -u postgres "$P-primary" id
done_step
step 4c "Grant replication, set a password, insert test data"
for sql in "alter user postgres replication;" "alter user postgres encrypted password 'postgres';" \
	"create table test (value text primary key);" "insert into test values ('test1');"; do
	psql_in primary -c "$sql"
done
done_step
step 4d "Take the base backup"
if [ "$ARCHIVER" = cp ]; then
	docker exec -u postgres "${ENVS[@]}" "$P-primary" sh -c 'set -e; root=/wal-g-storage/basebackups_005; tmp=$root/.incoming; rm -rf "$tmp"
pg_basebackup -D "$tmp" -X none --checkpoint=fast -U postgres
seg=$(sed -n "s/^START WAL LOCATION: .*(file \([0-9A-F]*\))$/\1/p" "$tmp/backup_label"); mv "$tmp" "$root/base_$seg"'
else
	docker exec -u postgres "${ENVS[@]}" "$P-primary" /usr/local/bin/wal-g --config /wal-g.json backup-push /data
fi
done_step
step 4e "Leave the container"
done_step
step 4f "Stop the primary and remove its container"
remove_server primary
done_step

step 5 "Remove the primary's data dir"
rm -rf "$PD"
done_step
step 6 "Find the backup name"
BACKUP_NAME=$(ls "$STORAGE/basebackups_005" | grep -v '_backup_stop_sentinel.json$' | tail -n1)
[ -n "$BACKUP_NAME" ] || fail "no backup"
done_step

fetch() { # docker run --rm … backup-fetch /data $BACKUP_NAME
	mkdir -p "${DATA[$1]}"
	mounts "$1"
	if [ "$ARCHIVER" = cp ]; then
		docker run --rm "${MOUNTS[@]}" "$IMAGE" sh -c "set -e; cp -a /wal-g-storage/basebackups_005/$BACKUP_NAME/. /data/; chown -R postgres:postgres /data; chmod 700 /data"
	else
		docker run --rm "${MOUNTS[@]}" "$IMAGE" sh -c "set -e; chown postgres:postgres /data; su postgres -c '/usr/local/bin/wal-g --config /wal-g.json backup-fetch /data $BACKUP_NAME'"
	fi
}
step 6b "Fetch the backup as the primary"
fetch primary
done_step
step 7 "Fetch the backup as the replica"
fetch replica
done_step

step 8 "Put the restore configs in place"
cp "$LAB/primary_restore.conf" "$LAB/primary-config/primary_restore.conf"
cp "$LAB/replica_restore.conf" "$LAB/replica-config/replica_restore.conf"
done_step
step 9 "Create the recovery and standby signals"
touch "$PD/recovery.signal" "$RD/standby.signal"
PGID=$(stat -c %u:%g "$PD/PG_VERSION")
chown "$PGID" "$PD/recovery.signal" "$RD/standby.signal"
done_step
step 10 "Add restore_command to both configs"
append "$PD/postgresql.conf" "restore_command = '$RESTORE_CMD'"
append "$RD/postgresql.conf" "restore_command = '$RESTORE_CMD'"
done_step
step 11 "Allow replication from the replica"
append "$PD/pg_hba.conf" "host all all 0.0.0.0/0 scram-sha-256" "host replication all 0.0.0.0/0 scram-sha-256"
done_step

step 12 "Start both servers at once"
run_server primary &
run_server replica &
wait
until_ok "primary to promote" promoted primary
until_ok "replica to shut down" exited replica
at_target
done_step
step 13 "Create the replication slot on the primary"
psql_in primary -c "select pg_create_physical_replication_slot('replica');"
done_step

step F1 "Start the primary (detached)"
running primary || fail "primary is not running"
done_step
step F2 "Start the replica; it shuts down at its recovery target"
remove_server replica
run_server replica
until_ok "replica to shut down" exited replica
at_target
done_step
step F3 "Remove replica_restore.conf"
rm "$LAB/replica-config/replica_restore.conf"
done_step
step F4 "Add replica_standby.conf"
sed -e 's/\${PRIMARY_HOST}/primary/g' -e 's/\${PRIMARY_PORT}/5432/g' "$LAB/replica_standby.conf" >"$LAB/replica-config/replica_standby.conf"
done_step
step F5 "Recreate standby.signal for the replica"
touch "$RD/standby.signal"
chown "$PGID" "$RD/standby.signal"
done_step
step F6 "Start the replica as a streaming standby"
remove_server replica
run_server replica
outcome() {
	docker logs "$P-replica" 2>&1 | grep -qE '(FATAL|PANIC|ERROR):  ' && return 0
	running replica || return 0
	ready replica && [ "$(psql_in replica -Atc 'select status from pg_stat_wal_receiver')" = streaming ]
}
until_ok "the replica's outcome" outcome
done_step
step P "Proof: walstep writes a marker row and looks for it on the replica"
# walstep's marker write and check: a row committed on the primary and
# flushed there, then looked for on the replica for up to 5 s.
psql_in primary -c "create table if not exists walstep_marker (id text primary key, written timestamptz not null default now());"
MARKER_LSN=$(psql_in primary -Atqc "insert into walstep_marker (id) values ('bench-$$') returning pg_current_wal_insert_lsn()")
marker_flushed() { [ "$(psql_in primary -Atc "select pg_current_wal_flush_lsn() >= '$MARKER_LSN'")" = t ]; }
marker_seen() { running replica && [ "$(psql_in replica -Atc "select count(*) from walstep_marker where id = 'bench-$$'" 2>/dev/null)" = 1 ]; }
until_ok "the primary to flush the marker" marker_flushed
now_us
MARKER_END=$((NOW + 5000000))
until marker_seen; do
	now_us
	[ "$NOW" -lt "$MARKER_END" ] || break
	sleep "$POLL"
done
done_step

down
