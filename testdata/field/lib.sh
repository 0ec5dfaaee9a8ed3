# Shared helpers for the field scenarios: plain PostgreSQL, no walstep.
# Each node lives in $BASE/<name>/ with data/, sock/ and log; servers listen
# only on their own socket directory, so every node can use port 5432 and
# nothing clashes with other servers on the machine.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
BASE=$(mktemp -d /tmp/walstep-field.XXXXXX)
ARCH=$BASE/archive
mkdir -p "$ARCH"
chown postgres: "$BASE" "$ARCH"
trap cleanup EXIT
# the servers and tools run as postgres, who may not read the caller's directory
cd "$BASE"

as_pg() { runuser -u postgres -- "$@"; }

cleanup() {
	for d in "$BASE"/*/data; do
		[ -f "$d/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true
	done
	if [ -z "${KEEP:-}" ]; then rm -rf "$BASE"; else echo "kept $BASE"; fi
}

say() { echo "== $*"; }

# conninfo NODE: how another node reaches NODE.
conninfo() { echo "host=$BASE/$1/sock port=5432 user=postgres application_name=$2"; }

# conf NODE LINE...: append lines to NODE's postgresql.conf.
conf() {
	local n=$1; shift
	printf '%s\n' "$@" >>"$BASE/$n/data/postgresql.conf"
}

common_conf() {
	conf "$1" "listen_addresses = ''" "unix_socket_directories = '$BASE/$1/sock'" "port = 5432" \
		"wal_keep_size = '256MB'" "archive_mode = on" \
		"archive_command = 'test ! -f $ARCH/%f && cp %p $ARCH/%f'" \
		"restore_command = 'cp $ARCH/%f %p'" "recovery_target_timeline = 'latest'" \
		"wal_log_hints = on" "checkpoint_timeout = '1h'"
}

# initdb_node NODE: a fresh cluster on timeline 1.
initdb_node() {
	mkdir -p "$BASE/$1/sock"
	chown -R postgres: "$BASE/$1"
	as_pg "$PGBIN/initdb" -D "$BASE/$1/data" -U postgres -A trust >/dev/null
	common_conf "$1"
	echo "local replication all trust" >>"$BASE/$1/data/pg_hba.conf"
}

# standby_of NODE UPSTREAM: NODE's data dir is a base backup of UPSTREAM,
# streaming from it.
standby_of() {
	mkdir -p "$BASE/$1/sock"
	chown -R postgres: "$BASE/$1"
	as_pg "$PGBIN/pg_basebackup" -h "$BASE/$2/sock" -p 5432 -U postgres -D "$BASE/$1/data" -X stream -c fast >/dev/null
	# the backup carries its upstream's socket dir; the node gets its own
	conf "$1" "unix_socket_directories = '$BASE/$1/sock'"
	repoint "$1" "$2"
}

# repoint NODE UPSTREAM: NODE becomes (or stays) a standby streaming from UPSTREAM.
repoint() {
	conf "$1" "primary_conninfo = '$(conninfo "$2" "$1")'"
	as_pg touch "$BASE/$1/data/standby.signal"
}

start() { as_pg "$PGBIN/pg_ctl" -D "$BASE/$1/data" -l "$BASE/$1/log" -w -t 60 start >/dev/null; }
# start_nowait NODE: for a server that may refuse or shut down during recovery.
start_nowait() { as_pg "$PGBIN/pg_ctl" -D "$BASE/$1/data" -l "$BASE/$1/log" -W start >/dev/null; }
stop() { as_pg "$PGBIN/pg_ctl" -D "$BASE/$1/data" -m "${2:-fast}" -w -t 60 stop >/dev/null; }
promote() { as_pg "$PGBIN/pg_ctl" -D "$BASE/$1/data" -w -t 60 promote >/dev/null; }
running() { as_pg "$PGBIN/pg_ctl" -D "$BASE/$1/data" status >/dev/null 2>&1; }

sql() { as_pg "$PGBIN/psql" -X -q -At -h "$BASE/$1/sock" -p 5432 -U postgres -d postgres -c "$2"; }
# tli NODE: the timeline a standby receives (else its checkpoint's).
tli() { sql "$1" "select coalesce((select received_tli from pg_stat_wal_receiver), (select timeline_id from pg_control_checkpoint()))"; }
lsn() { sql "$1" "select case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end"; }

# wait_for SECONDS CMD...: poll CMD until it succeeds or the deadline passes.
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.2
	done
}

log_has() { grep -q -- "$2" "$BASE/$1/log"; }
archived() { [ -f "$ARCH/$1" ]; }

# holdarchive NODE: NODE's archive_command writes to a holding dir;
# release NODE moves what it holds into the archive.
holdarchive() {
	mkdir -p "$BASE/$1/hold"
	chown postgres: "$BASE/$1/hold"
	conf "$1" "archive_command = 'cp %p $BASE/$1/hold/%f'"
}
release() {
	local f
	for f in "$BASE/$1/hold"/*; do
		[ -e "$f" ] || continue
		[ -e "$ARCH/$(basename "$f")" ] || mv "$f" "$ARCH/"
	done
}

# marker NODE: write a row on the node that should be primary; echo its value.
marker() {
	local m="marker-$RANDOM$RANDOM"
	sql "$1" "create table if not exists marker(v text); insert into marker values ('$m')" >/dev/null
	sql "$1" "select pg_switch_wal()" >/dev/null
	echo "$m"
}
has_row() { [ "$(sql "$1" "select count(*) from marker where v = '$2'" 2>/dev/null)" = 1 ]; }

# check MARKER DEADLINE STANDBY...: print, per standby, whether the marker
# reached it, and the outcome: healthy when every standby holds it, else
# diverged naming the standbys that do not.
check() {
	local m=$1 dl=$2; shift 2
	local bad=() n
	for n in "$@"; do
		if wait_for "$dl" has_row "$n" "$m"; then
			echo "node $n: marker present (timeline $(tli "$n" 2>/dev/null || echo ?), at $(lsn "$n" 2>/dev/null || echo ?))"
		else
			if running "$n"; then st=running; else st=stopped; fi
			echo "node $n: marker missing ($st)"
			# each distinct message once, in the order first seen
			grep -E 'FATAL|PANIC|DETAIL|LOG:  (new timeline|restored log file|fetching timeline|started streaming)' "$BASE/$n/log" |
				sed 's/^.*UTC \[[0-9]*\] //' | grep -v 'the database system is starting up' | awk '!seen[$0]++' | tail -8 | sed 's/^/    /'
			bad+=("$n")
		fi
	done
	if [ ${#bad[@]} -eq 0 ]; then echo "OUTCOME: healthy"; else echo "OUTCOME: diverged ${bad[*]}"; fi
}
