package export

import (
	"walstep/playbook"
)

// The TAP and shell forms of the field's verbs: pg_rewind, repoint, an
// archive held back and released.
func init() {
	tapForms["pg_rewind"] = func(g *tapGen, si, ai int, a playbook.Action) error {
		g.helpers["rewind_node"] = true
		g.p("# pg_rewind copies the source's conf files: the target's own are put back.")
		g.p("rewind_node($%s, $%s);", a.Nodes[0], a.Nodes[1])
		return nil
	}
	tapForms["repoint"] = func(g *tapGen, si, ai int, a playbook.Action) error {
		g.helpers["repoint_node"] = true
		g.helpers["set_auto_conf"] = true
		g.helpers["wait_exited"] = true // postmaster_alive
		g.p("repoint_node($%s, $%s);", a.Nodes[0], a.Nodes[1])
		return nil
	}
	tapForms["hold archive"] = func(g *tapGen, si, ai int, a playbook.Action) error {
		g.helpers["hold_archive"] = true
		g.helpers["set_auto_conf"] = true
		g.helpers["wait_exited"] = true // postmaster_alive
		g.p("hold_archive($%s);", a.Node())
		return nil
	}
	tapForms["release archive"] = func(g *tapGen, si, ai int, a playbook.Action) error {
		g.helpers["hold_archive"] = true
		g.helpers["set_auto_conf"] = true
		g.helpers["wait_exited"] = true // postmaster_alive
		g.p("release_archive($%s);", a.Node())
		return nil
	}
	shellForms["pg_rewind"] = func(g *shellGen, si, ai int, a playbook.Action) error {
		g.helpers["rewind_node"] = true
		g.helpers["auto_conf"] = true
		if g.o.Docker {
			g.helpers["rewind_docker"] = true
		} else {
			g.helpers["rewind_local"] = true
		}
		g.p("rewind_node %s %s # pg_rewind; the target keeps its own conf files", a.Nodes[0], a.Nodes[1])
		return nil
	}
	shellForms["repoint"] = func(g *shellGen, si, ai int, a playbook.Action) error {
		g.helpers["auto_conf"] = true
		g.p("repoint_node %s %s", a.Nodes[0], a.Nodes[1])
		return nil
	}
	shellForms["hold archive"] = func(g *shellGen, si, ai int, a playbook.Action) error {
		g.helpers["auto_conf"] = true
		g.helpers["hold_archive"] = true
		g.p("hold_archive %s \"%s/.held/%s\"", a.Node(), g.variable(a.Node(), "storage"), a.Node())
		return nil
	}
	shellForms["release archive"] = func(g *shellGen, si, ai int, a playbook.Action) error {
		g.helpers["auto_conf"] = true
		g.helpers["hold_archive"] = true
		g.p("release_archive %s", a.Node())
		return nil
	}
	for k, v := range fieldPerl {
		perlSubs[k] = v
	}
	for k, v := range fieldShell {
		shellSubs[k] = v
	}
}

var fieldPerl = map[string]string{
	"rewind_node": `# pg_rewind target from source (running), keeping the target's own conf
# files and conf.d, which pg_rewind replaces with the source's.
sub rewind_node
{
	my ($target, $source) = @_;
	my $dd = $target->data_dir;
	my %own;
	for my $f (qw(postgresql.conf postgresql.auto.conf pg_hba.conf pg_ident.conf), glob("$dd/conf.d/*"))
	{
		my $p = $f =~ m{^/} ? $f : "$dd/$f";
		$own{$p} = slurp_file($p) if -f $p;
	}
	PostgreSQL::Test::Utils::system_or_bail('pg_rewind', '--target-pgdata' => $dd,
		'--source-server' => $source->connstr('postgres'));
	unlink glob("$dd/conf.d/*");
	for my $p (sort keys %own)
	{
		unlink $p;
		PostgreSQL::Test::Utils::append_to_file($p, $own{$p});
	}
}
`,
	"repoint_node": `# Make node a standby streaming from up: primary_conninfo in
# postgresql.auto.conf (read last), no slot, standby.signal; a running
# node reloads.
sub repoint_node
{
	my ($node, $up) = @_;
	set_auto_conf($node, 'primary_conninfo',
		"'port=" . $up->port . " host=" . $up->host . " application_name=" . $node->name . "'");
	set_auto_conf($node, 'primary_slot_name', "''");
	$node->set_standby_mode;
	$node->reload if postmaster_alive($node);
}
`,
	"hold_archive": `# Hold node's pushes back: its archive_command copies into a directory
# of its own until release_archive pushes them, oldest first, with the
# test's archive_command (which refuses a name the archive holds).
sub held_dir { my ($node) = @_; return $node->basedir . '/held'; }

sub hold_archive
{
	my ($node) = @_;
	mkdir held_dir($node);
	set_auto_conf($node, 'archive_command', "'cp \"%p\" \"" . held_dir($node) . "/%f\"'");
	$node->reload if postmaster_alive($node);
}

sub release_archive
{
	my ($node) = @_;
	push_held($node);
	set_auto_conf($node, 'archive_command', undef);
	$node->reload if postmaster_alive($node);
	push_held($node);
}

sub push_held
{
	my ($node) = @_;
	my $dir = held_dir($node);
	for my $p (sort { (stat $a)[9] <=> (stat $b)[9] } glob("$dir/*"))
	{
		my ($f) = $p =~ m{([^/]+)$};
		(my $cmd = $archive_command) =~ s/%p/$p/g;
		$cmd =~ s/%f/$f/g;
		if (system($cmd) == 0) { unlink $p; note "pushed $f"; }
		else { note "not pushed: $f (the archive holds it already)"; }
	}
}
`,
	"set_auto_conf": `# Set (or, with undef, remove) a setting in node's postgresql.auto.conf.
sub set_auto_conf
{
	my ($node, $key, $value) = @_;
	my $path = $node->data_dir . '/postgresql.auto.conf';
	my @lines = grep { !/^\s*\Q$key\E\s*=/ } split /\n/, (-f $path ? slurp_file($path) : '');
	push @lines, "$key = $value" if defined $value;
	unlink $path;
	PostgreSQL::Test::Utils::append_to_file($path, join("\n", @lines) . "\n");
}
`,
}

var fieldShell = map[string]string{
	"auto_conf": `# set_auto NODE KEY [VALUE]: set (or remove) a setting in NODE's
# postgresql.auto.conf, which the server reads last; the file keeps its owner.
set_auto() {
	local f lines
	f="$(data_of "$1")/postgresql.auto.conf"
	lines=$(grep -v -E "^[[:space:]]*$2[[:space:]]*=" "$f" 2>/dev/null || true)
	{ [ -z "$lines" ] || printf '%s\n' "$lines"; [ $# -lt 3 ] || printf '%s = %s\n' "$2" "$3"; } > "$f"
}
reload_if_running() { if running "$1"; then psql_on "$1" -c 'select pg_reload_conf()' >/dev/null; fi; }
# repoint_node NODE UP: NODE becomes a standby streaming from UP, without a slot.
repoint_node() {
	set_auto "$1" primary_conninfo "'host=$(host_of "$2") port=$(port_of "$2") user=postgres application_name=$1'"
	set_auto "$1" primary_slot_name "''"
	touch "$(data_of "$1")/standby.signal"
	reload_if_running "$1"
}
`,
	"rewind_node": `# rewind_node TARGET SOURCE: pg_rewind, then the target's own conf files
# and conf.d back (pg_rewind copies the source's).
rewind_node() {
	local keep f
	keep=$(mktemp -d "$WORK/keep.XXXXXX")
	for f in postgresql.conf postgresql.auto.conf pg_hba.conf pg_ident.conf conf.d; do
		[ ! -e "$(data_of "$1")/$f" ] || cp -a "$(data_of "$1")/$f" "$keep/"
	done
	rewind_run "$1" "$2"
	for f in "$keep"/*; do
		rm -rf -- "$(data_of "$1")/${f##*/}"
		cp -a "$f" "$(data_of "$1")/"
	done
	rm -rf -- "$keep"
}
`,
	"rewind_local": `rewind_run() { "$PGBIN/pg_rewind" --target-pgdata="$(data_of "$1")" --source-server="host=$SOCK port=$(port_of "$2") user=postgres dbname=postgres"; }
`,
	"rewind_docker": `# In a container on the servers' network, the target's data dir mounted.
rewind_run() { docker run --rm --network "$PREFIX" -u postgres $(mounts "$1") "$IMAGE" pg_rewind --target-pgdata=/data --source-server="host=$2 port=5432 user=postgres dbname=postgres"; }
`,
	"hold_archive": `# hold_archive NODE DIR: NODE's archive_command copies into DIR (as its
# server sees it: .held/NODE in the archive) until release_archive NODE
# pushes what it kept, oldest first, refusing a name the archive holds.
hold_archive() {
	mkdir -p "$ARCHIVE/.held/$1" && chmod 1777 "$ARCHIVE/.held/$1"
	set_auto "$1" archive_command "'cp %p $2/%f'"
	reload_if_running "$1"
}
push_held() {
	local f
	for f in $(ls -tr "$ARCHIVE/.held/$1" 2>/dev/null); do
		if [ -e "$ARCHIVE/$f" ]; then echo "not pushed: $f (the archive holds it already)"
		else cp "$ARCHIVE/.held/$1/$f" "$ARCHIVE/$f" && rm -f "$ARCHIVE/.held/$1/$f" && echo "pushed $f"; fi
	done
}
release_archive() {
	push_held "$1"
	set_auto "$1" archive_command
	reload_if_running "$1"
	push_held "$1"
}
`,
}
