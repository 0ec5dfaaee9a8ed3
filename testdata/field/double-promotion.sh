#!/bin/bash
# Double promotion (two nodes A, B; a cp archive). B is promoted while A,
# still a primary, keeps writing (a split-brain row); then one of them is
# made to follow the other.
#
# Variants (the order that decides the outcome, and the fixes):
#   a-follows-b          A restarted as B's standby                      (A diverges)
#   b-follows-a          B demoted to A's standby                        (B diverges)
#   both-promoted        A also promoted before B's history is archived;
#                        A then made B's standby                         (A diverges)
#   rewind               fix: CHECKPOINT on B, pg_rewind A from B, A as B's standby (healthy)
#   rewind-no-checkpoint pg_rewind at once after the promotion           (A diverges)
#   rewind-no-hints      A without wal_log_hints or checksums            (A diverges)
variant=${1:-a-follows-b}
. "$(dirname "$0")/lib.sh"

say "A: initdb, start; B: base backup of A, streaming"
initdb_node A
[ "$variant" = rewind-no-hints ] && conf A "wal_log_hints = off"
start A
sql A "create table t(v text); insert into t values ('before')"
standby_of B A
[ "$variant" = both-promoted ] && holdarchive B
start B
end=$(lsn A)
wait_for 60 bash -c "[ \"\$(runuser -u postgres -- $PGBIN/psql -X -At -h $BASE/B/sock -U postgres -d postgres -c \"select pg_last_wal_replay_lsn() >= '$end'\")\" = t ]"

say "B promoted while A keeps running"
promote B
echo "B on timeline 2; $(grep -h . "$BASE"/B/data/pg_wal/00000002.history)"
sql A "insert into t values ('split-brain')"
sql A "select pg_switch_wal()" >/dev/null
echo "A wrote the split-brain row on timeline 1, now at $(lsn A)"
stop A

rewind() {
	say "pg_rewind A from B"
	# pg_rewind (15) compares the timelines in the control files: until a
	# checkpoint on B ends, B's still says 1
	echo "B's control file: $("$PGBIN/pg_controldata" -D "$BASE/B/data" | grep "Latest checkpoint's TimeLineID" | tr -s ' ')"
	if as_pg "$PGBIN/pg_rewind" --target-pgdata="$BASE/A/data" --source-server="$(conninfo B rewind)" -P >"$BASE/rewind.out" 2>&1; then
		echo "pg_rewind: ok"
	else
		echo "pg_rewind: failed"
	fi
	sed 's/^/    /' "$BASE/rewind.out" | grep -vE '^\s*[0-9]+/[0-9]+ kB' | tail -5
	# pg_rewind copies B's postgresql.conf, with B's socket directory
	conf A "unix_socket_directories = '$BASE/A/sock'"
}

primary=B standbys=(A)
case $variant in
a-follows-b)
	repoint A B
	start_nowait A
	;;
b-follows-a)
	primary=A standbys=(B)
	stop B
	repoint B A
	start A
	start_nowait B
	;;
both-promoted)
	say "A started as a standby restoring from the archive, then promoted"
	as_pg touch "$BASE/A/data/standby.signal"
	start A
	promote A
	echo "A: $(grep -o 'selected new timeline ID: [0-9]*' "$BASE/A/log" | tail -1); B: $(grep -o 'selected new timeline ID: [0-9]*' "$BASE/B/log" | tail -1)"
	stop A
	release B
	repoint A B
	start_nowait A
	;;
rewind)
	sql B "checkpoint"
	rewind
	repoint A B
	start_nowait A
	;;
rewind-no-checkpoint | rewind-no-hints)
	# as soon as A is down: the promotion's own checkpoint may not have ended
	rewind
	repoint A B
	start_nowait A
	;;
*) echo "unknown variant $variant"; exit 2 ;;
esac

say "marker row written on $primary"
m=$(marker "$primary")
check "$m" 30 "${standbys[@]}"
for n in "${standbys[@]}"; do
	running "$n" || continue
	case $(sql "$n" "select count(*) from t where v = 'split-brain'" 2>/dev/null || echo unreadable) in
	1) echo "node $n: holds the split-brain row" ;;
	0) echo "node $n: no split-brain row" ;;
	*) echo "node $n: split-brain row unknown (the table cannot be read)" ;;
	esac
done
