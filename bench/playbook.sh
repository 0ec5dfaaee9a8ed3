#!/usr/bin/env bash
# bench/playbook.sh LAB — the baseline for walstep's performance budget.
#
# Performs the same playbook as
#     walstep run --backend local --archiver cp --lab LAB
# with plain commands: the same postgres processes (same -c options, logs
# appended to LAB/logs/<node>.log), the same cp archive_command and
# restore_command, pg_basebackup -X none --checkpoint=fast stored as
# base_<start segment>, the same conf appends and the same waits, through F6
# (the replica started as a streaming standby until it streams or logs a
# FATAL/PANIC/ERROR) and the proof step P (a marker row committed on the
# primary, looked for on the replica for up to 5 s), then stops both servers.
#
# Waits poll with pg_isready/psql every $POLL seconds (default 0.1, the same
# as walstep's cluster.PollInterval) up to $WAIT seconds (default 60).
# Run as root (servers and psql run as the postgres user through runuser,
# as walstep runs them as postgres) or as an ordinary user.
#
# Environment: PGBIN (default: pg_ctl's dir on PATH, else newest
# /usr/lib/postgresql/*/bin), POLL, WAIT, VERBOSE=1 to print each command's
# output (default: discarded; step lines always print), WALG=PATH to run the
# playbook of `--archiver wal-g --wal-g PATH` instead (the seed's wal-g
# commands with LAB/run/wal-g.json).
set -euo pipefail

usage() { echo "usage: $0 LAB" >&2; exit 2; }
[ $# -eq 1 ] || usage
POLL=${POLL:-0.1}
WAIT=${WAIT:-60}
VERBOSE=${VERBOSE:-0}

# --- the lab ------------------------------------------------------------------
mkdir -p "$1"
LAB=$(cd "$1" && pwd -P)
case "$LAB" in /|"$HOME") echo "playbook.sh: refuse lab $LAB" >&2; exit 2 ;; esac
if [ ! -f "$LAB/.walstep-lab" ] && [ -n "$(ls -A "$LAB")" ]; then
	echo "playbook.sh: $LAB is not empty and is not a walstep lab: choose a new directory" >&2
	exit 2
fi

# The same files `walstep init` writes (cluster/lab.go), kept when present.
[ -f "$LAB/.walstep-lab" ] || printf '{\n  "tool": "walstep",\n  "version": 1,\n  "created": "%s"\n}\n' \
	"$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$LAB/.walstep-lab"
[ -f "$LAB/primary_restore.conf" ] || cat >"$LAB/primary_restore.conf" <<'EOF'
# Restore settings for the primary (copied to primary-config/ at step 8).
# The default forks timeline 2 at the consistency point, which is what makes
# the replica diverge. Comment both lines out to restore to the end of WAL.
recovery_target = 'immediate'
recovery_target_action = 'promote'
EOF
[ -f "$LAB/replica_restore.conf" ] || cat >"$LAB/replica_restore.conf" <<'EOF'
# Restore settings for the replica's first start (copied at step 8).
recovery_target = 'immediate'
recovery_target_action = 'shutdown'
EOF
[ -f "$LAB/replica_standby.conf" ] || cat >"$LAB/replica_standby.conf" <<'EOF'
# Standby settings for the replica (copied at follow-up step 4).
# ${PRIMARY_HOST} and ${PRIMARY_PORT} are filled in by walstep: the primary's
# network alias and port in Docker, 127.0.0.1 and its port locally.
primary_conninfo = 'host=${PRIMARY_HOST} port=${PRIMARY_PORT} user=postgres password=postgres'
primary_slot_name = 'replica'
EOF
[ -f "$LAB/wal-g.json" ] || cat >"$LAB/wal-g.json" <<'EOF'
{
  "WALG_FILE_PREFIX": "/wal-g-storage",
  "WALG_COMPRESSION_METHOD": "lz4",
  "PGUSER": "postgres",
  "PGDATABASE": "postgres"
}
EOF
mkdir -p "$LAB/hooks"
[ "$(id -u)" -ne 0 ] || chmod 755 "$LAB"

# --- the binaries and the server user ------------------------------------------
if [ -z "${PGBIN:-}" ]; then
	if p=$(command -v pg_ctl 2>/dev/null) && [ -x "$(dirname "$(readlink -f "$p")")/postgres" ]; then
		PGBIN=$(dirname "$(readlink -f "$p")")
	else
		PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4n | tail -n1)
	fi
fi
[ -x "$PGBIN/postgres" ] || { echo "playbook.sh: no PostgreSQL binaries (set PGBIN)" >&2; exit 1; }
# PGBIN first, as walstep's Local.env does (Debian's /usr/bin/psql and
# pg_isready are a Perl wrapper).
export PATH="$PGBIN:$PATH"

UID0=$(id -u)
if [ "$UID0" -eq 0 ]; then
	OWNER=postgres:postgres
	AS_PG=(runuser -u postgres --)
else
	OWNER="$(id -u):$(id -g)"
	AS_PG=()
fi

PD=$LAB/primary-data RD=$LAB/replica-data
STORAGE=$LAB/wal-g-storage WAL=$STORAGE/wal_005 BACKUPS=$STORAGE/basebackups_005
HOMEDIR=$LAB/run/home
WALG=${WALG:-}
WALG_CFG=$LAB/run/wal-g.json
if [ -n "$WALG" ]; then
	ARCHIVE_CMD="$WALG --config $WALG_CFG wal-push %p"
	RESTORE_CMD="$WALG --config $WALG_CFG wal-fetch %f %p"
else
	ARCHIVE_CMD="test ! -f $WAL/%f && cp %p $WAL/%f"
	RESTORE_CMD="cp $WAL/%f %p"
fi

# Two free loopback ports, as walstep picks them.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		port_free "$p" && [ "$p" != "${PPORT:-}" ] && { echo "$p"; return; }
	done
}
PPORT=$(pick_port)
RPORT=$(pick_port)
# Per node, without a subshell per look-up: the baseline must not pay for
# bookkeeping that walstep does in-process.
declare -A PORT=([primary]=$PPORT [replica]=$RPORT) DATA=([primary]=$PD [replica]=$RD)
declare -A CONF=([primary]=$LAB/primary-config [replica]=$LAB/replica-config)

# nodeenv NODE sets NENV to the node's environment (walstep's Local.env).
nodeenv() {
	NENV=(PATH="$PATH" PGHOST=127.0.0.1 PGPORT="${PORT[$1]}" PGUSER=postgres PGDATABASE=postgres
		PGDATA="${DATA[$1]}" HOME="$HOMEDIR" LANG=C LC_ALL=C)
}
# as_pg NODE CMD...: as the server user; as_root NODE CMD...: as ourselves;
# both in the lab dir with the node's environment, as walstep's Exec.
as_pg() { nodeenv "$1"; shift; (cd "$LAB" && exec "${AS_PG[@]}" env "${NENV[@]}" "$@"); }
as_root() { nodeenv "$1"; shift; (cd "$LAB" && exec env "${NENV[@]}" "$@"); }
psql_pg() { as_pg "$1" psql -X -v ON_ERROR_STOP=1 -c "$2"; }
# query NODE SQL: one value, from ourselves over TCP (the poller's view).
query() { PGCONNECT_TIMEOUT=2 psql -X -A -t -q -h 127.0.0.1 -p "${PORT[$1]}" -U postgres -d postgres -c "$2" 2>/dev/null; }
handover() { mkdir -p "$@"; [ "$UID0" -ne 0 ] || chown postgres:postgres "$@"; }

# --- output and steps -----------------------------------------------------------
# Step lines go to fd 3 (stdout), errors to fd 4 (stderr); commands' output
# is discarded unless VERBOSE=1 (walstep run keeps it in memory, prints it with -v).
exec 3>&1 4>&2
[ "$VERBOSE" = 1 ] || exec >/dev/null 2>&1
NSTEPS=28
I=0
STEP_T0=0
# Clock without forking date: bash 5's EPOCHREALTIME, in microseconds.
now_us() { NOW=${EPOCHREALTIME/[.,]/}; }
STEP_ID=-
step() { I=$((I + 1)); now_us; STEP_T0=$NOW; STEP_ID=$1 STEP_TITLE=$2; printf '[%2d/%d] %-4s %s ...\n' "$I" "$NSTEPS" "$1" "$2" >&3; }
done_step() { now_us; printf '[%2d/%d] %-4s %s: done in %dms\n' "$I" "$NSTEPS" "$STEP_ID" "$STEP_TITLE" $(((NOW - STEP_T0) / 1000)) >&3; }
fail() { echo "playbook.sh: step $STEP_ID: $*" >&4; stop_all; exit 1; }

# --- servers ----------------------------------------------------------------------
declare -A SPID # node -> pid of the runuser/postgres background job
alive() { [ -n "${SPID[$1]:-}" ] && kill -0 "${SPID[$1]}" 2>/dev/null; }
pmpid() { local f=${DATA[$1]}/postmaster.pid; [ -f "$f" ] && head -n1 "$f" || true; }

start() { # walstep's Local.Start
	local n=$1 dd=${DATA[$1]}
	handover "$LAB/logs" "${CONF[$n]}" "$HOMEDIR"
	rm -f "$dd/custom-pg-configs"
	ln -s "${CONF[$n]}" "$dd/custom-pg-configs"
	port_free "${PORT[$n]}" || fail "port ${PORT[$n]} in use"
	nodeenv "$n"
	(cd "$LAB" && exec "${AS_PG[@]}" env "${NENV[@]}" "$PGBIN/postgres" -D "$dd" -c port="${PORT[$n]}" \
		-c listen_addresses=127.0.0.1 -c unix_socket_directories=) >>"$LAB/logs/$n.log" 2>&1 </dev/null &
	SPID[$n]=$!
	echo "$n started on 127.0.0.1:${PORT[$n]}"
}

stop() { # walstep's Local.Stop: fast shutdown, wait for the process to exit
	local n=$1 pid
	if alive "$n"; then
		pid=$(pmpid "$n")
		if [ -n "$pid" ]; then kill -INT "$pid" 2>/dev/null || true; else kill -INT "${SPID[$n]}" 2>/dev/null || true; fi
		wait "${SPID[$n]}" 2>/dev/null || true
		echo "$n stopped"
	else
		pid=$(pmpid "$n")
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then # left from an earlier run
			kill -INT "$pid"
			while kill -0 "$pid" 2>/dev/null; do sleep "$POLL"; done
		fi
	fi
}
stop_all() { stop primary || true; stop replica || true; }
trap 'stop_all; exit 130' INT TERM
trap 'echo "playbook.sh: step $STEP_ID failed at line $LINENO" >&4; stop_all' ERR

# until_ok WHAT CMD...: re-check CMD every $POLL until it succeeds or $WAIT passes.
until_ok() {
	local what=$1 deadline
	shift
	now_us
	deadline=$((NOW + WAIT * 1000000))
	until "$@"; do
		now_us
		[ "$NOW" -lt "$deadline" ] || fail "wait for $what: deadline passed after ${WAIT}s"
		sleep "$POLL"
	done
}

# settle NODE MUST_PROMOTE: wait until the server accepts connections or
# exits; with MUST_PROMOTE, until it is out of recovery (walstep's settle).
ready_or_exited() { ! alive "$1" || pg_isready -q -h 127.0.0.1 -p "${PORT[$1]}" -U postgres -d postgres -t 2; }
promoted() { alive "$1" || fail "$1 exited instead of promoting"; [ "$(query "$1" 'select pg_is_in_recovery()')" = f ]; }
settle() {
	local n=$1 must=$2
	until_ok "$n to accept connections or exit" ready_or_exited "$n"
	if ! alive "$n"; then
		[ "$must" = 0 ] || fail "$n exited instead of accepting connections"
		echo "$n shut down"
		return
	fi
	if [ "$must" = 1 ]; then
		until_ok "$n to leave recovery (promote)" promoted "$n"
		echo "$n accepts connections, out of recovery (WAL file timeline $(query "$n" 'select substr(pg_walfile_name(pg_current_wal_lsn()),1,8)'))"
	else
		echo "$n accepts connections (in recovery: $(query "$n" 'select pg_is_in_recovery()'))"
	fi
}

append() { # AppendLines: as root, printf >> file
	local n=$1 f=$2
	shift 2
	as_root "$n" sh -c 'f=$1; shift; printf '\''%s\n'\'' "$@" >> "$f"' sh "$f" "$@"
}
touch_owned() { as_root "$1" sh -c 'touch "$1" && chown "$2" "$1"' sh "$2" "$OWNER"; }
copy_conf() { # CopyConf: fill in ${PRIMARY_HOST} and ${PRIMARY_PORT}
	mkdir -p "$LAB/$2"
	sed -e 's/\${PRIMARY_HOST}/127.0.0.1/g' -e "s/\${PRIMARY_PORT}/$PPORT/g" "$LAB/$1" >"$LAB/$2/$1"
}
fetch() { # CP.BackupFetch, as root; WalG.BackupFetch as postgres
	local n=$1 dd=${DATA[$1]}
	if [ -n "$WALG" ]; then
		handover "$dd"
		chmod 700 "$dd"
		as_pg "$n" "$WALG" --config "$WALG_CFG" backup-fetch "$dd" "$BACKUP_NAME"
		return
	fi
	as_root "$n" sh -c "set -e
test -d $BACKUPS/$BACKUP_NAME || { echo \"backup $BACKUP_NAME not found in storage\" >&2; exit 1; }
mkdir -p $dd
cp -a $BACKUPS/$BACKUP_NAME/. $dd/
chown -R $OWNER $dd
chmod 700 $dd
echo \"restored $BACKUP_NAME into $dd\""
}
# replica_outcome: a problem line in the replica's log since its start (the
# server's own: two spaces after the level, not WAL-G's "ERROR: <date>"), its
# exit, or its wal receiver streaming (walstep's startStandby).
LOG_MARK=0
problem_since_start() {
	tail -n +"$((LOG_MARK + 1))" "$LAB/logs/replica.log" 2>/dev/null | grep -E '(FATAL|PANIC|ERROR):  ' |
		grep -v -e 'the database system is starting up' -e 'the database system is shutting down' \
			-e 'the database system is not yet accepting connections' -e 'the database system is not accepting connections' |
		head -n1
}
OUTCOME=
replica_outcome() {
	local line
	line=$(problem_since_start || true)
	if [ -n "$line" ]; then OUTCOME="replica reports: $line"; return 0; fi
	if ! alive replica; then OUTCOME="replica exited"; return 0; fi
	if [ "$(query replica 'select status from pg_stat_wal_receiver')" = streaming ]; then
		OUTCOME="replica streams from the primary on timeline $(query replica 'select received_tli from pg_stat_wal_receiver')"
		return 0
	fi
	return 1
}

# --- the playbook (steps/playbook.go) ----------------------------------------------
step 0 "Prepare the lab"
stop primary
stop replica
for d in primary-data replica-data wal-g-storage primary-config replica-config logs run; do
	rm -rf "${LAB:?}/$d"
done
mkdir -p "$LAB/primary-config" "$LAB/replica-config" "$LAB/logs" "$LAB/run"
if [ -n "$WALG" ]; then
	mkdir -p "$STORAGE"
	printf '{\n  "WALG_FILE_PREFIX": "%s",\n  "WALG_COMPRESSION_METHOD": "lz4",\n  "PGUSER": "postgres",\n  "PGDATABASE": "postgres",\n  "PGHOST": "127.0.0.1",\n  "PGPORT": "%s"\n}\n' "$STORAGE" "$PPORT" >"$WALG_CFG"
else
	mkdir -p "$WAL" "$BACKUPS"
fi
done_step

step 1 "Initialise the primary's data dir"
handover "$HOMEDIR"
handover "$PD"
chmod 700 "$PD"
as_pg primary initdb -D "$PD" --username=postgres
done_step

step 2 "Turn on archiving in the primary's postgresql.conf"
append primary "$PD/postgresql.conf" "include_dir = 'custom-pg-configs'" "archive_mode = on" \
	"archive_command = '$ARCHIVE_CMD'"
done_step

step 3 "Start the primary"
start primary
settle primary 1
done_step

step 4 "Enter the primary's environment"
as_root primary sh -c 'echo "shell available in the primary'\''s environment: $(uname -n)"'
done_step

step 4a "Hand the WAL storage to postgres"
as_root primary chown -R "$OWNER" "$STORAGE"
done_step

step 4b "Switch to the postgres user"
as_pg primary id
done_step

step 4c "Grant replication, set a password, insert test data"
psql_pg primary "alter user postgres replication;"
psql_pg primary "alter user postgres encrypted password 'postgres';"
psql_pg primary "create table test (value text primary key);"
psql_pg primary "insert into test values ('test1');"
done_step

step 4d "Take the base backup"
[ -z "$WALG" ] || as_pg primary "$WALG" --config "$WALG_CFG" backup-push "$PD"
[ -n "$WALG" ] || as_pg primary sh -c "set -e
tmp=$BACKUPS/.incoming
rm -rf \"\$tmp\"
pg_basebackup -D \"\$tmp\" -X none --checkpoint=fast -U postgres
seg=\$(sed -n 's/^START WAL LOCATION: .*(file \([0-9A-F]*\))\$/\1/p' \"\$tmp/backup_label\")
test -n \"\$seg\"
mv \"\$tmp\" $BACKUPS/base_\"\$seg\"
echo \"backup base_\$seg stored in $BACKUPS\""
done_step

step 4e "Leave the container"
echo "nothing to do: each command ran in its own session"
done_step

step 4f "Stop the primary and remove its container"
stop primary
done_step

step 5 "Remove the primary's data dir"
rm -rf "$PD"
done_step

step 6 "Find the backup name"
BACKUP_NAME=$(cd "$BACKUPS" && ls -d base_* | grep -v '_backup_stop_sentinel.json$' | sort | tail -n1)
[ -n "$BACKUP_NAME" ] || fail "the storage holds no backup"
echo "BACKUP_NAME=$BACKUP_NAME"
done_step

step 6b "Fetch the backup as the primary"
fetch primary
done_step

step 7 "Fetch the backup as the replica"
fetch replica
done_step

step 8 "Put the restore configs in place"
copy_conf primary_restore.conf primary-config
copy_conf replica_restore.conf replica-config
done_step

step 9 "Create the recovery and standby signals"
touch_owned primary "$PD/recovery.signal"
touch_owned replica "$RD/standby.signal"
done_step

step 10 "Add restore_command to both configs"
append primary "$PD/postgresql.conf" "restore_command = '$RESTORE_CMD'"
append replica "$RD/postgresql.conf" "restore_command = '$RESTORE_CMD'"
done_step

step 11 "Allow replication from the replica"
append primary "$PD/pg_hba.conf" "host all all 0.0.0.0/0 scram-sha-256" "host replication all 0.0.0.0/0 scram-sha-256"
done_step

step 12 "Start both servers at once"
start primary
start replica
settle primary 1 &
sp=$!
settle replica 0 &
sr=$!
wait "$sp" || fail "primary did not settle"
wait "$sr" || fail "replica did not settle"
done_step

step 13 "Create the replication slot on the primary"
psql_pg primary "select pg_create_physical_replication_slot('replica');"
done_step

step F1 "Start the primary (detached)"
alive primary || start primary
settle primary 1
done_step

step F2 "Start the replica; it shuts down at its recovery target"
if alive replica; then stop replica; fi
start replica
settle replica 0
done_step

step F3 "Remove replica_restore.conf"
rm -f "$LAB/replica-config/replica_restore.conf"
done_step

step F4 "Add replica_standby.conf"
copy_conf replica_standby.conf replica-config
done_step

step F5 "Recreate standby.signal for the replica"
touch_owned replica "$RD/standby.signal"
done_step

step F6 "Start the replica as a streaming standby"
if alive replica; then stop replica; fi
LOG_MARK=$(wc -l <"$LAB/logs/replica.log")
start replica
WAIT=30 until_ok "the replica to stream or report an error" replica_outcome
echo "$OUTCOME"
done_step

step P "Proof: walstep writes a marker row and looks for it on the replica"
# walstep's marker write and check: a row committed on the primary and
# flushed there, then looked for on the replica for up to 5 s.
psql_pg primary "create table if not exists walstep_marker (id text primary key, written timestamptz not null default now());"
MARKER_LSN=$(query primary "insert into walstep_marker (id) values ('bench-$$') returning pg_current_wal_insert_lsn()")
marker_flushed() { [ "$(query primary "select pg_current_wal_flush_lsn() >= '$MARKER_LSN'")" = t ]; }
marker_seen() { [ "$(query replica "select count(*) from walstep_marker where id = 'bench-$$'")" = 1 ]; }
WAIT=30 until_ok "the primary to flush the marker" marker_flushed
now_us
MARKER_END=$((NOW + 5000000))
until marker_seen; do
	now_us
	[ "$NOW" -lt "$MARKER_END" ] || break
	sleep "$POLL"
done
done_step

stop_all
