#!/bin/bash
# Failover whose old primary archives (three nodes A, B, C; a cp archive;
# recovery_target_timeline 'latest'). B is promoted after A stops; A is
# started again as a primary and stopped, archiving its timeline-1 segment
# that holds the fork point; C, repointed to B and restarted, restores it.
#
# Variants (the order that decides the outcome, and the fix):
#   old-primary-archives  A's cycle before C restarts            (C diverges)
#   standby-first         C restarts before A's cycle            (healthy)
#   history-late          as the first, B's history archived late (C diverges)
#   rejoin-as-standby     fix: A started as B's standby, never as a primary (healthy)
#   a-rewound             as the first, then A rewound from B and started as its
#                         standby (C diverges, A healthy: one node each way)
variant=${1:-old-primary-archives}
. "$(dirname "$0")/lib.sh"

say "A: initdb, start; B and C: base backups of A, streaming"
initdb_node A
start A
sql A "create table t(v int); insert into t select generate_series(1,1000)"
standby_of B A
standby_of C A
[ "$variant" = history-late ] && holdarchive B
start B
start C
end=$(lsn A)
wait_for 60 bash -c "[ \"\$(runuser -u postgres -- $PGBIN/psql -X -At -h $BASE/B/sock -U postgres -d postgres -c \"select pg_last_wal_replay_lsn() >= '$end'\")\" = t ]"

say "A stops (fast); B and C receive its shutdown checkpoint"
stop A
aend=$("$PGBIN/pg_controldata" -D "$BASE/A/data" | sed -n 's/^Latest checkpoint location: *//p')
echo "A's shutdown checkpoint at $aend"
caught() { [ "$(sql "$1" "select pg_last_wal_receive_lsn() > '$aend'")" = t ]; }
wait_for 60 caught B
wait_for 60 caught C

say "B promoted"
promote B
echo "B promoted: $(grep -o 'selected new timeline ID: [0-9]*' "$BASE/B/log" | tail -1); 00000002.history: $(grep -h . "$BASE"/B/data/pg_wal/00000002.history)"

# the timeline-1 segment that holds the fork: where A's next cycle writes
fork=$(awk '{print $2}' "$BASE/B/data/pg_wal/00000002.history")
forkseg=$(printf '%08X%08X%08X' 1 $((16#${fork%/*})) $((16#${fork#*/} >> 24)))
echo "fork at $fork, in timeline 1's segment $forkseg"

c_to_b() {
	say "C repointed to B and restarted"
	stop C
	repoint C B
	local from=$(($(wc -l <"$BASE/C/log") + 1))
	start_nowait C
	# C decides what it replays past the fork from what the archive holds
	# when it starts; the marker written before C has asked B for WAL would
	# put timeline 2's segment of the fork in the archive and race that decision
	wait_for 60 bash -c "tail -n +$from $BASE/C/log | grep -qE 'started streaming WAL from primary|could not start WAL streaming|could not receive data from WAL stream'"
}
a_cycle() {
	say "A started as a primary again, then stopped: it archives its timeline-1 segment"
	start A
	stop A
	if wait_for 30 archived "$forkseg"; then
		echo "archived $forkseg from A; its records from the fork on:"
		as_pg "$PGBIN/pg_waldump" -p "$ARCH" -s "$fork" "$forkseg" 2>&1 | sed 's/^/    /' | head -5
	else
		echo "A archived nothing for segment $forkseg"
	fi
}

case $variant in
old-primary-archives)
	a_cycle
	c_to_b
	;;
standby-first)
	c_to_b
	wait_for 60 bash -c "grep -q 'started streaming WAL from primary at .* on timeline 2' $BASE/C/log"
	a_cycle
	;;
history-late)
	a_cycle
	c_to_b
	wait_for 30 bash -c "grep -qE 'FATAL|is not in this server|forked off' $BASE/C/log" || true
	say "B's archive released"
	release B
	;;
a-rewound)
	a_cycle
	c_to_b
	say "A rewound from B (after a checkpoint on B) and started as B's standby"
	sql B "checkpoint"
	if as_pg "$PGBIN/pg_rewind" --target-pgdata="$BASE/A/data" --source-server="$(conninfo B rewind)" >"$BASE/rewind.out" 2>&1; then
		echo "pg_rewind: ok"
	else
		echo "pg_rewind: failed"
	fi
	grep -E 'diverged|Done|error|fatal' "$BASE/rewind.out" | sed 's/^/    /'
	# pg_rewind copies B's postgresql.conf, with B's socket directory
	conf A "unix_socket_directories = '$BASE/A/sock'"
	repoint A B
	start A
	;;
rejoin-as-standby)
	say "A started as B's standby"
	repoint A B
	start A
	c_to_b
	;;
*) echo "unknown variant $variant"; exit 2 ;;
esac

say "marker row written on B"
m=$(marker B)
nodes=(C)
[ "$variant" = rejoin-as-standby ] || [ "$variant" = a-rewound ] && nodes=(A C)
check "$m" 30 "${nodes[@]}"
