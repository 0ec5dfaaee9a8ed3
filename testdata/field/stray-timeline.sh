#!/bin/bash
# A stray timeline in the archive (production P, a test restore T, a new
# standby S; one cp archive). T is restored from P's backup and archive,
# promoted, and pushes its timeline 2 into the production archive; S is
# then made P's standby from a backup and the same archive.
#
# Variants (what decides the outcome, and the fixes):
#   latest             S from the backup before the fork, target 'latest'  (S diverges: follows T)
#   latest-past-fork   S from a backup of P taken after the fork, 'latest' (S diverges: refuses)
#   current            fix: recovery_target_timeline 'current'             (healthy)
#   timeline-1         fix: recovery_target_timeline '1'                   (healthy)
variant=${1:-latest}
. "$(dirname "$0")/lib.sh"

say "P: initdb, start, a base backup"
initdb_node P
start P
sql P "create table t(v text); insert into t values ('before')"
as_pg "$PGBIN/pg_basebackup" -h "$BASE/P/sock" -p 5432 -U postgres -D "$BASE/backup" -X none -c fast >/dev/null
sql P "select pg_switch_wal()" >/dev/null
wait_for 30 bash -c "ls $ARCH/*.backup >/dev/null 2>&1"

# from_backup NODE: NODE's data dir is a copy of the base backup.
from_backup() {
	mkdir -p "$BASE/$1/sock"
	cp -a "$BASE/backup" "$BASE/$1/data"
	chown -R postgres: "$BASE/$1"
	conf "$1" "unix_socket_directories = '$BASE/$1/sock'"
}

say "T: a test restore from the backup and the archive, promoted at the archive's end"
from_backup T
as_pg touch "$BASE/T/data/recovery.signal"
start T
wait_for 60 bash -c "[ \"\$(runuser -u postgres -- $PGBIN/psql -X -At -h $BASE/T/sock -U postgres -d postgres -c 'select pg_is_in_recovery()')\" = f ]"
echo "T: $(grep -o 'selected new timeline ID: [0-9]*' "$BASE/T/log" | tail -1); $(grep -h . "$BASE"/T/data/pg_wal/00000002.history)"
# the row commits before the switch (one psql -c string is one transaction)
sql T "insert into t values ('test-restore')"
sql T "select pg_switch_wal()" >/dev/null
wait_for 30 archived 00000002.history && echo "T archived 00000002.history"
sql P "insert into t values ('production')"
sql P "select pg_switch_wal()" >/dev/null
wait_for 30 bash -c "ls $ARCH/00000002000000000000000? >/dev/null 2>&1" && echo "T archived $(cd $ARCH && ls 00000002000000000000000? | tr '\n' ' ')"

say "S: P's new standby ($variant)"
case $variant in
latest) from_backup S ;;
latest-past-fork)
	mkdir -p "$BASE/S/sock"; chown -R postgres: "$BASE/S"
	as_pg "$PGBIN/pg_basebackup" -h "$BASE/P/sock" -p 5432 -U postgres -D "$BASE/S/data" -X stream -c fast >/dev/null
	conf S "unix_socket_directories = '$BASE/S/sock'"
	;;
current) from_backup S; conf S "recovery_target_timeline = 'current'" ;;
timeline-1) from_backup S; conf S "recovery_target_timeline = '1'" ;;
*) echo "unknown variant $variant"; exit 2 ;;
esac
repoint S P
start_nowait S

say "marker row written on P"
m=$(marker P)
check "$m" 30 S
if running S; then
	for row in test-restore production; do
		[ "$(sql S "select count(*) from t where v = '$row'" 2>/dev/null)" = 1 ] && echo "node S: holds the $row row"
	done
fi
true
