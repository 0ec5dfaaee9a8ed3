package export

import (
	"fmt"
	"sort"
	"strings"

	"walstep/playbook"
)

// shellGen writes one bash script.
type shellGen struct {
	o       Options
	out     outcome
	b       strings.Builder
	helpers map[string]bool
	pushed  bool
}

// shellForm writes an action as bash.
type shellForm func(g *shellGen, si, ai int, a playbook.Action) error

// Script is the playbook as a standalone bash script that runs it with
// local PostgreSQL binaries and prints the outcome at the end.
func Script(o Options) ([]byte, error) {
	out, err := check(o)
	if err != nil {
		return nil, err
	}
	g := &shellGen{o: o, out: out, helpers: map[string]bool{}}
	for si, st := range o.Doc.Steps {
		g.p("")
		g.p("step %s %s", shQ(st.ID), shQ(st.Title))
		for _, l := range wrap("# ", st.Watch, 76) {
			g.p("%s", l)
		}
		for ai, a := range st.Actions {
			if err := shellForms[a.Verb](g, si, ai, a); err != nil {
				return nil, fmt.Errorf("export step %s (%s): %w", st.ID, a.Display(), err)
			}
		}
	}
	g.p("")
	g.p("# The proof from the data, and the outcome.")
	g.p("conclude %s %s %q %d %d %s", g.out.standby, g.out.upstream, g.o.Expect, seconds(MarkerWait), seconds(g.out.deadline), g.out.origin)
	return []byte(g.header() + g.subs() + "\n# The playbook's steps.\ntrap cleanup EXIT" + g.b.String()), nil
}

func (g *shellGen) p(format string, a ...any) { fmt.Fprintf(&g.b, format+"\n", a...) }

// shQ is s single-quoted for bash.
func shQ(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,%+@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// word is an action's string as one bash word for node: literals quoted,
// ${variables} the script's, each through quote (a helper, or "").
func (g *shellGen) word(node, s, quote string) string {
	var b strings.Builder
	for _, pc := range pieces(s) {
		if !pc.isVar {
			if pc.text != "" {
				b.WriteString("'" + strings.ReplaceAll(pc.text, "'", `'\''`) + "'")
			}
			continue
		}
		v := g.variable(node, pc.text)
		if quote != "" {
			g.helpers[quote] = true
			v = "$(" + quote + " \"" + v + "\")"
		}
		b.WriteString("\"" + v + "\"")
	}
	if b.Len() == 0 {
		return "''"
	}
	return b.String()
}

func (g *shellGen) variable(node, name string) string {
	if g.o.Docker {
		// What the servers' containers see.
		switch name {
		case "data":
			return "/data"
		case "storage":
			return "/archive"
		case "owner":
			return "postgres:postgres"
		}
	}
	switch name {
	case "data":
		return "$" + node + "_data"
	case "config_dir":
		return "conf.d"
	case "storage":
		return "$ARCHIVE"
	case "owner":
		return "$(id -un):$(id -gn)"
	case "archive_command":
		return "$ARCHIVE_COMMAND"
	case "restore_command":
		return "$RESTORE_COMMAND"
	case "backup":
		return "$BACKUP"
	}
	if n, ok := strings.CutPrefix(name, "host:"); ok {
		return "$(host_of " + n + ")"
	}
	if n, ok := strings.CutPrefix(name, "port:"); ok {
		return "$(port_of " + n + ")"
	}
	return "${" + name + "}"
}

func (g *shellGen) header() string {
	d := g.o.Doc
	var h strings.Builder
	h.WriteString("#!/usr/bin/env bash\n")
	fmt.Fprintf(&h, "# %s\n#\n", d.Title)
	how := "with local PostgreSQL binaries (PGBIN, default /usr/lib/postgresql/15/bin). Run it as a user that may run PostgreSQL (as root it runs itself as postgres): bash SCRIPT [WORKDIR]."
	if g.o.Docker {
		how = "with the docker CLI, as the seed's setup."
	}
	for _, l := range wrap("# ", fmt.Sprintf("The playbook %q as walstep runs it, as a standalone script %s It ends by printing the outcome (diverged or healthy, with the evidence) and exits 0 when that is what walstep saw (%s), 1 when not.", d.Name, how, g.o.Expect), 76) {
		h.WriteString(l + "\n")
	}
	if g.o.Docker {
		h.WriteString(`#
# WAL-G's steps are pg_basebackup -X none and one archive directory the
# servers copy WAL into and out of. Each server runs in a container of
# IMAGE on a network of its own, reached by its node name, its data dir and
# the archive bind-mounted from the work dir; its config dir is conf.d in
# its data dir. Run it as root (it edits the servers' files, owned by the
# containers' postgres user): bash SCRIPT [WORKDIR].
set -euo pipefail
`)
		fmt.Fprintf(&h, "IMAGE=${IMAGE:-%s}\n", g.o.Image)
		h.WriteString(`PREFIX=${PREFIX:-walstep-export-$$}
WORK=${1:-$(mktemp -d /tmp/walstep-export.XXXXXX)}
mkdir -p "$WORK" && WORK=$(cd "$WORK" && pwd)
ARCHIVE=$WORK/archive LOGS=$WORK/logs
mkdir -p "$ARCHIVE" "$LOGS"
docker network create "$PREFIX" >/dev/null
ARCHIVE_COMMAND="test ! -f /archive/%f && cp %p /archive/%f"
RESTORE_COMMAND="cp /archive/%f %p"
BACKUP=base
`)
	} else {
		h.WriteString(`#
# WAL-G's steps are pg_basebackup -X none and one archive directory the
# servers copy WAL into and out of. Each server's config dir is conf.d in
# its data dir, named relatively, so the include_dir line a backup carries
# to the replica names the replica's own. The servers listen on a socket
# in the work dir only.
set -euo pipefail
if [ "$(id -u)" = 0 ]; then
	copy=$(mktemp /tmp/walstep-export.XXXXXX.sh)
	cp "$0" "$copy" && chown postgres "$copy"
	exec runuser -u postgres -- env PGBIN="${PGBIN:-}" bash "$copy" "$@"
fi
case $0 in /tmp/walstep-export.*.sh) rm -f -- "$0" || true ;; esac # the copy made above
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
WORK=${1:-$(mktemp -d /tmp/walstep-export.XXXXXX)}
mkdir -p "$WORK" && WORK=$(cd "$WORK" && pwd)
SOCK=$WORK/sock ARCHIVE=$WORK/archive LOGS=$WORK
mkdir -p "$SOCK" "$ARCHIVE"
ARCHIVE_COMMAND="test ! -f '$ARCHIVE/%f' && cp '%p' '$ARCHIVE/%f'"
RESTORE_COMMAND="cp '$ARCHIVE/%f' '%p'"
BACKUP=base
`)
	}
	for i, n := range d.Nodes {
		fmt.Fprintf(&h, "%s_data=$WORK/%s-data %s_port=%d\n", n.Name, n.Name, n.Name, 5432+i)
	}
	fmt.Fprintf(&h, "NODES=(%s)\n", strings.Join(nodeNames(d), " "))
	h.WriteString("echo \"work dir: $WORK\"\n")
	return h.String()
}

func nodeNames(d *playbook.Doc) []string {
	var out []string
	for _, n := range d.Nodes {
		out = append(out, n.Name)
	}
	return out
}

// shellForms is the shell form of each verb of the vocabulary.
var shellForms = map[string]shellForm{
	"reset lab": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("# A new work dir: nothing to reset.")
		return nil
	},
	"initdb": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("init_node %s", a.Node())
		return nil
	},
	"append": func(g *shellGen, si, ai int, a playbook.Action) error {
		var words []string
		for _, l := range a.Args {
			words = append(words, g.word(a.Node(), l, "conf_str"))
		}
		g.p("printf '%%s\\n' %s >> \"$%s_data/%s\"", strings.Join(words, " "), a.Node(), a.File)
		return nil
	},
	"replace": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("replace_conf \"$%s_data/%s\" %s %s", a.Node(), a.File, g.word(a.Node(), a.Args[0], "conf_str"), g.word(a.Node(), a.Args[1], "conf_str"))
		return nil
	},
	"copy-conf": func(g *shellGen, si, ai int, a playbook.Action) error {
		raw, err := g.o.Lab.ReadFile(a.File)
		if err != nil {
			return err
		}
		up := upstreamOf(g.o.Doc, a.Node())
		text := fillPrimary(string(raw), "\x00HOST\x00", "\x00PORT\x00")
		text = strings.NewReplacer(`\`, `\\`, `$`, `\$`, "`", "\\`").Replace(text)
		text = strings.NewReplacer("\x00HOST\x00", "$(host_of "+up+")", "\x00PORT\x00", "$(port_of "+up+")").Replace(text)
		g.p("# The lab's %s, as it was when exported.", a.File)
		g.p("cat > \"$%s_data/conf.d/%s\" <<EOF\n%sEOF", a.Node(), a.File, strings.TrimRight(text, "\n")+"\n")
		return nil
	},
	"signal": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("touch \"$%s_data/%s.signal\"", a.Node(), a.Args[0])
		return nil
	},
	"remove": func(g *shellGen, si, ai int, a playbook.Action) error {
		dir := ""
		if a.Area == "config" {
			dir = "/conf.d"
		}
		g.p("rm -- \"$%s_data%s/%s\"", a.Node(), dir, a.File)
		return nil
	},
	"remove-data-dir": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("rm -rf -- \"$%s_data\"", a.Node())
		return nil
	},
	"start": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("start_node %s", strings.Join(a.Nodes, " "))
		return nil
	},
	"restart": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("stop_node %s fast", a.Node())
		g.p("start_node %s", a.Node())
		return nil
	},
	"stop": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("stop_node %s %s", a.Node(), a.Args[0])
		return nil
	},
	"kill": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("kill_node %s # SIGKILL to the postmaster: a crash at this point", a.Node())
		return nil
	},
	"marker write": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("# A write walstep makes: a marker row, flushed on %s.", a.Node())
		g.p("write_marker %s %s", a.Node(), shQ("step "+g.o.Doc.Steps[si].ID))
		return nil
	},
	"marker check": func(g *shellGen, si, ai int, a playbook.Action) error {
		id := shQ("step " + markerStep(g.o.Doc, si, ai))
		if g.out.isProof(si, ai) {
			// The outcome's proof: conclude reads this result.
			g.p("PROOF_WAIT=%d", seconds(a.Deadline))
			g.p("if marker_on %s %s %d; then PROOF_SEEN=1; echo 'the marker reached %s'; else PROOF_SEEN=0; echo 'the marker did not reach %s within %ds'; fi", a.Node(), id, seconds(a.Deadline), a.Node(), a.Node(), seconds(a.Deadline))
			return nil
		}
		g.p("if marker_on %s %s %d; then echo 'the marker reached %s'; else echo 'the marker did not reach %s within %ds'; fi", a.Node(), id, seconds(a.Deadline), a.Node(), a.Node(), seconds(a.Deadline))
		return nil
	},
	"promote": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("promote_node %s", a.Node())
		return nil
	},
	"wait ready": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("until_true %d '%s to accept connections' is_true %s 'select true'", seconds(a.Deadline), a.Node(), a.Node())
		return nil
	},
	"wait promoted": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("until_true %d '%s to leave recovery' is_true %s 'select not pg_is_in_recovery()'", seconds(a.Deadline), a.Node(), a.Node())
		return nil
	},
	"wait end-of-recovery": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("until_true %d '%s to promote or pause at the end of recovery' \\\n\tis_true %s \"select not pg_is_in_recovery() or pg_get_wal_replay_pause_state() <> 'not paused'\"", seconds(a.Deadline), a.Node(), a.Node())
		return nil
	},
	"wait target-shutdown": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("# recovery_target_action = 'shutdown': the server stops by itself.")
		g.p("until_true %d '%s to shut down at its recovery target' stopped_after_log %s", seconds(a.Deadline), a.Node(), a.Node())
		return nil
	},
	"wait stopped": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("until_true %d '%s to stop' not_running %s", seconds(a.Deadline), a.Node(), a.Node())
		return nil
	},
	"wait streaming": func(g *shellGen, si, ai int, a playbook.Action) error {
		up := g.o.Doc.UpstreamAt(a.Line, a.Node())
		g.p("# The outcome: %s streams from %s, or is refused.", a.Node(), up)
		g.p("until_true %d '%s to stream from %s or be refused' outcome_of %s %s", seconds(a.Deadline), a.Node(), up, a.Node(), up)
		g.p("echo \"outcome: $(cat \"$WORK/outcome\")\"")
		return nil
	},
	"wait log": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("until_true %d %s log_has %s %s", seconds(a.Deadline), shQ(a.Node()+" to log "+a.Args[0]), a.Node(), shQ(a.Args[0]))
		return nil
	},
	"wait sql": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("until_true %d %s is_true %s %s", seconds(a.Deadline), shQ(a.Node()+": "+a.Args[0]), a.Node(), g.word(a.Node(), a.Args[0], "sql_lit"))
		return nil
	},
	"sql": func(g *shellGen, si, ai int, a playbook.Action) error {
		for _, q := range a.Args {
			g.p("psql_on %s -c %s", a.Node(), g.word(a.Node(), q, "sql_lit"))
		}
		return nil
	},
	"shell": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.asUser(a)
		g.p("run_on %s %s sh -c %s", a.Node(), a.User, g.word(a.Node(), a.Args[0], "sh_q"))
		return nil
	},
	"exec": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.asUser(a)
		var words []string
		for _, w := range a.Args {
			words = append(words, g.word(a.Node(), w, ""))
		}
		g.p("run_on %s %s %s", a.Node(), a.User, strings.Join(words, " "))
		return nil
	},
	"backup push": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("# WAL-G's backup-push: a base backup without WAL (-X none); a restore")
		g.p("# reads the WAL from the archive.")
		g.p("backup_node %s", a.Node())
		g.pushed = true
		return nil
	},
	"backup find": func(g *shellGen, si, ai int, a playbook.Action) error {
		if !g.pushed {
			return fmt.Errorf("no backup push before it: the script can only restore a backup it took")
		}
		g.p("echo \"BACKUP_NAME=$BACKUP\"")
		return nil
	},
	"backup fetch": func(g *shellGen, si, ai int, a playbook.Action) error {
		if !g.pushed {
			return fmt.Errorf("no backup push before it: the script can only restore a backup it took")
		}
		g.p("# WAL-G's backup-fetch: the backup's files.")
		g.p("fetch_node %s", a.Node())
		return nil
	},
	"slot create": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("psql_on %s -c %s", a.Node(), shQ("select pg_create_physical_replication_slot('"+a.Args[0]+"')"))
		return nil
	},
	"slot drop": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("psql_on %s -c %s", a.Node(), shQ("select pg_drop_replication_slot('"+a.Args[0]+"')"))
		return nil
	},
	"switch-wal": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("psql_on %s -c 'select pg_switch_wal()'", a.Node())
		return nil
	},
	"archive-failures": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("echo \"archive_command failures in the %s log so far: $(grep -c 'archive command failed' \"$LOGS/%s.log\" || true)\"", a.Node(), a.Node())
		return nil
	},
	"say": func(g *shellGen, si, ai int, a playbook.Action) error {
		g.p("echo %s", shQ(a.Args[0]))
		return nil
	},
}

func (g *shellGen) asUser(a playbook.Action) {
	if a.User == "root" {
		g.p("# As the script's user, who runs every server.")
	}
}

// shellSubs are the helpers a script may call; the common ones always.
var shellSubs = map[string]string{
	"conf_str": `# A value quoted for postgresql.conf, or as an SQL literal.
conf_str() { local q="'"; printf "'%s'" "${1//$q/$q$q}"; }
`,
	"sql_lit": `sql_lit() { local q="'"; printf "'%s'" "${1//$q/$q$q}"; }
`,
	"sh_q": `sh_q() { printf '%q' "$1"; }
`,
}

const shellCommon = `
trap 'echo "failed at line $LINENO: $BASH_COMMAND" >&2' ERR
# Print a step's heading.
step() { printf '\n== step %s. %s\n' "$1" "$2"; }
# Run "$@" until it succeeds, for at most $1 seconds.
until_true() {
	local secs=$1 what=$2 end=$((SECONDS + $1))
	shift 2
	until "$@"; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "timed out after ${secs}s waiting for $what" >&2
			exit 1
		fi
		sleep 0.2
	done
}
data_of() { local v="$1_data"; echo "${!v}"; }
# Where each server's log stood when it was last started: waits read after.
declare -A LOG_AT
log_since() { tail -c +$((${LOG_AT[$1]:-0} + 1)) "$LOGS/$1.log" 2>/dev/null || true; }
log_has() { log_since "$1" | grep -Eq -- "$2"; }
is_true() { [ "$(psql_on "$1" -c "$2" 2>/dev/null)" = t ]; }
not_running() { ! running "$1"; }
stopped_after_log() { log_has "$1" 'database system is shut down' && not_running "$1"; }
mark_log() { LOG_AT[$1]=$(stat -c %s "$LOGS/$1.log" 2>/dev/null || echo 0); }
# The outcome, in $WORK/outcome: the standby refused (its log) or
# streaming (the upstream's pg_stat_replication); false while neither.
outcome_of() {
	local line
	line=$(log_since "$1" | grep -E -m1 -- "$REFUSALS" || true)
	if [ -n "$line" ]; then echo "refused: $line" > "$WORK/outcome"; return 0; fi
	if [ "$(psql_on "$2" -c "select count(*) from pg_stat_replication where application_name = '$1' and state = 'streaming'" 2>/dev/null)" -gt 0 ] 2>/dev/null; then
		echo streaming > "$WORK/outcome"; return 0
	fi
	return 1
}
# Commit marker row $2 on node $1 and wait until $1 has flushed it.
write_marker() {
	local lsn
	psql_on "$1" -c "create table if not exists walstep_marker (id text primary key, written timestamptz not null default now())" >/dev/null
	lsn=$(psql_on "$1" -c "insert into walstep_marker (id) values ('$2') returning pg_current_wal_insert_lsn()" | head -1)
	until_true 60 "$1 to flush the marker" is_true "$1" "select pg_current_wal_flush_lsn() >= '$lsn'"
}
# Whether marker row $2 shows on node $1 within $3 seconds.
marker_on() {
	local end=$((SECONDS + $3))
	while [ "$SECONDS" -lt "$end" ]; do
		if is_true "$1" "select to_regclass('walstep_marker') is not null" &&
			[ "$(psql_on "$1" -c "select count(*) from walstep_marker where id = '$2'" 2>/dev/null)" = 1 ]; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}
# Commit a marker row on the upstream ($2), then look for it on the
# standby ($1) for up to $3 seconds.
marker_seen() { write_marker "$2" proof && marker_on "$1" proof "$3"; }
# Whether the marker reached the standby ($1 of $2, $3 seconds): the
# playbook's own proof step's result when it ran one (PROOF_SEEN, the
# same marker walstep looked for), else a marker written now.
proof_seen() {
	if [ -n "${PROOF_SEEN:-}" ]; then [ "$PROOF_SEEN" = 1 ]; else marker_seen "$1" "$2" "$3"; fi
}
# Print the outcome with its evidence; exit 0 when it is what walstep saw.
conclude() {
	local standby=$1 upstream=$2 saw=$3 wait_refused=$4 wait_streaming=$5 origin=${6:-$2} outcome verdict
	outcome=$(cat "$WORK/outcome")
	local where=there
	[ "$origin" = "$upstream" ] || where="on $origin"
	if [ -n "${PROOF_SEEN:-}" ]; then wait_refused=$PROOF_WAIT wait_streaming=$PROOF_WAIT; fi
	case $outcome in
	refused:*)
		if proof_seen "$standby" "$origin" "$wait_refused"; then
			verdict=unknown
			echo "unknown: $standby was refused ($outcome) yet the marker row committed on $origin reached it"
		else
			verdict=diverged
			echo "diverged: ${outcome#refused: }; the marker row committed on $origin did not reach $standby within ${wait_refused}s"
		fi ;;
	*)
		if proof_seen "$standby" "$origin" "$wait_streaming"; then
			verdict=healthy
			echo "healthy: $standby streams from $upstream; the marker row committed $where reached it"
		else
			verdict=unknown
			echo "unknown: $standby streams from $upstream yet the marker row committed $where did not reach it within ${wait_streaming}s"
		fi ;;
	esac
	echo "walstep saw: $saw"
	[ "$verdict" = "$saw" ]
}
`

// localHelpers run the servers with the local binaries, on a socket in
// the work dir.
const localHelpers = `
port_of() { local v="$1_port"; echo "${!v}"; }
host_of() { echo "$SOCK"; }
psql_on() { local n=$1; shift; "$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -h "$SOCK" -p "$(port_of "$n")" -U postgres -d postgres "$@" </dev/null; }
running() { local pid; pid=$(head -1 "$(data_of "$1")/postmaster.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; }
init_node() { "$PGBIN/initdb" -D "$(data_of "$1")" -U postgres -A trust >/dev/null && mkdir "$(data_of "$1")/conf.d"; }
# Start each node unless it runs, without waiting: nodes named together
# start together. The socket and port are given here, so that the
# postgresql.conf a backup carries does not make two servers share them.
start_node() {
	local n
	for n in "$@"; do
		if running "$n"; then echo "$n runs already"; continue; fi
		mark_log "$n"
		"$PGBIN/pg_ctl" -W -D "$(data_of "$n")" -l "$LOGS/$n.log" \
			-o "-p $(port_of "$n") -k $SOCK -c listen_addresses= -c cluster_name=$n" start >/dev/null
	done
}
stop_node() { if running "$1"; then "$PGBIN/pg_ctl" -D "$(data_of "$1")" -m "$2" stop >/dev/null; fi; }
promote_node() { "$PGBIN/pg_ctl" -D "$(data_of "$1")" promote; }
kill_node() { kill -KILL "$(head -1 "$(data_of "$1")/postmaster.pid")"; }
backup_node() { "$PGBIN/pg_basebackup" -D "$WORK/$BACKUP" -h "$SOCK" -p "$(port_of "$1")" -U postgres -X none --checkpoint fast; }
fetch_node() { cp -a "$WORK/$BACKUP" "$(data_of "$1")" && chmod 700 "$(data_of "$1")" && mkdir -p "$(data_of "$1")/conf.d"; }
run_on() { local n=$1; shift 2; PGHOST=$SOCK PGPORT=$(port_of "$n") PGDATA=$(data_of "$n") PGUSER=postgres "$@"; }
cleanup() { local n; for n in "${NODES[@]}"; do stop_node "$n" immediate || true; done; }
`

// dockerHelpers run each server in a container of IMAGE on a network of
// its own, its data dir and the archive bind-mounted from the work dir,
// its log in the work dir, as the seed's Compose setup does.
const dockerHelpers = `
port_of() { echo 5432; }
host_of() { echo "$1"; }
ctr() { echo "$PREFIX-$1"; }
psql_on() { local n=$1; shift; docker exec -u postgres "$(ctr "$n")" psql -XAtq -v ON_ERROR_STOP=1 -U postgres -d postgres "$@" </dev/null; }
running() { [ "$(docker inspect -f '{{.State.Running}}' "$(ctr "$1")" 2>/dev/null)" = true ]; }
mounts() { echo -v "$(data_of "$1"):/data" -v "$ARCHIVE:/archive"; }
init_node() {
	mkdir -p "$(data_of "$1")"
	docker run --rm $(mounts "$1") "$IMAGE" bash -c 'chown postgres:postgres /data /archive && su postgres -c "initdb -D /data --username=postgres" >/dev/null && mkdir /data/conf.d && chown postgres:postgres /data/conf.d'
}
# Start each node unless it runs, without waiting: nodes named together
# start together. The server logs to the work dir.
start_node() {
	local n
	for n in "$@"; do
		if running "$n"; then echo "$n runs already"; continue; fi
		docker rm -f "$(ctr "$n")" >/dev/null 2>&1 || true
		mark_log "$n"
		docker run -d --name "$(ctr "$n")" --network "$PREFIX" --network-alias "$n" $(mounts "$n") -v "$LOGS:/logs" \
			"$IMAGE" bash -c "exec su postgres -c 'exec postgres -D /data -c listen_addresses=* -c cluster_name=$n' 2>>/logs/$n.log" >/dev/null
	done
}
# pg_ctl's exec may end with the container it stops: wait for that.
stop_node() {
	if running "$1"; then
		docker exec -u postgres "$(ctr "$1")" pg_ctl -D /data -m "$2" stop >/dev/null 2>&1 || true
		until_true 60 "$1 to stop" not_running "$1"
	fi
}
promote_node() { docker exec -u postgres "$(ctr "$1")" pg_ctl -D /data promote; }
kill_node() { docker exec -u postgres "$(ctr "$1")" sh -c 'kill -KILL "$(head -1 /data/postmaster.pid)"'; }
backup_node() { docker exec -u postgres "$(ctr "$1")" pg_basebackup -D "/archive/$BACKUP" -U postgres -X none --checkpoint fast; }
fetch_node() { cp -a "$ARCHIVE/$BACKUP" "$(data_of "$1")" && chmod 700 "$(data_of "$1")" && mkdir -p "$(data_of "$1")/conf.d"; }
# In the node's container when it runs, else in a new one on its files.
run_on() {
	local n=$1 u=$2; shift 2
	if running "$n"; then
		docker exec -u "$u" -e PGDATA=/data -e PGUSER=postgres "$(ctr "$n")" "$@"
	else
		docker run --rm -u "$u" -e PGDATA=/data $(mounts "$n") "$IMAGE" "$@"
	fi
}
cleanup() {
	local n
	for n in "${NODES[@]}"; do docker rm -f "$(ctr "$n")" >/dev/null 2>&1 || true; done
	docker network rm "$PREFIX" >/dev/null 2>&1 || true
}
`

func (g *shellGen) subs() string {
	var names []string
	for n := range g.helpers {
		if _, ok := shellSubs[n]; ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("REFUSALS=" + shQ(refusals) + "\n")
	b.WriteString(shellCommon)
	if g.o.Docker {
		b.WriteString(dockerHelpers)
	} else {
		b.WriteString(localHelpers)
	}
	for _, n := range names {
		b.WriteString("\n" + shellSubs[n])
	}
	return b.String()
}
