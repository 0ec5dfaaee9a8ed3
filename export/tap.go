package export

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"walstep/pg"
	"walstep/playbook"
)

// tapGen writes one TAP test.
type tapGen struct {
	o       Options
	out     outcome
	b       strings.Builder
	helpers map[string]bool // the Perl subs the test calls
	pushed  bool            // a backup was pushed: $backup is declared
}

// tapForm writes an action as Perl.
type tapForm func(g *tapGen, si, ai int, a playbook.Action) error

// TAP is the playbook as a PostgreSQL TAP test that asserts o.Expect.
func TAP(o Options) ([]byte, error) {
	out, err := check(o)
	if err != nil {
		return nil, err
	}
	g := &tapGen{o: o, out: out, helpers: map[string]bool{}}
	var body strings.Builder
	g.b = strings.Builder{}
	for si, st := range o.Doc.Steps {
		g.p("")
		g.p("# Step %s. %s", st.ID, st.Title)
		for _, l := range wrap("# ", st.Watch, 76) {
			g.p("%s", l)
		}
		for ai, a := range st.Actions {
			if err := tapForms[a.Verb](g, si, ai, a); err != nil {
				return nil, fmt.Errorf("export step %s (%s): %w", st.ID, a.Display(), err)
			}
		}
	}
	g.assertions()
	body.WriteString(g.b.String())
	return []byte(g.header() + body.String() + "\ndone_testing();\n" + g.subs()), nil
}

func (g *tapGen) p(format string, a ...any) { fmt.Fprintf(&g.b, format+"\n", a...) }

// header is what every exported test starts with.
func (g *tapGen) header() string {
	d := g.o.Doc
	var h strings.Builder
	fmt.Fprintf(&h, "# %s\n#\n", d.Title)
	expect := "the standby's upstream refuses it (it replayed WAL the new timeline never had), and a row committed on the upstream never reaches it"
	if g.o.Expect == pg.VerdictHealthy {
		expect = "the standby streams from its upstream, and a row committed there reaches it"
	}
	for _, l := range wrap("# ", fmt.Sprintf("The playbook %q as walstep runs it, written with PostgreSQL::Test::Cluster. Outcome asserted (walstep's verdict: %s): %s.", d.Name, g.o.Expect, expect), 76) {
		h.WriteString(l + "\n")
	}
	h.WriteString(`#
# WAL-G's steps map to the framework's own: backup push is pg_basebackup
# with -X none (the backup holds no WAL, so a restore reads it from the
# archive, as WAL-G's does) and the archive is one directory every server
# copies WAL into and out of, as they share WAL-G's storage. The seed
# mounts each server's own config dir at /custom-pg-configs; here it is
# conf.d in each data dir, named relatively, so the include_dir line a
# backup carries to the replica names the replica's own.
use strict;
use warnings;
use File::Path qw(rmtree);
use File::Spec;
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

`)
	for _, n := range d.Nodes {
		fmt.Fprintf(&h, "my $%s = PostgreSQL::Test::Cluster->new('%s');\n", n.Name, n.Name)
	}
	h.WriteString(`my $archive = File::Spec->rel2abs(PostgreSQL::Test::Utils::tempdir('archive'));
my $archive_command = qq{test ! -f "$archive/%f" && cp "%p" "$archive/%f"};
my $restore_command = qq{cp "$archive/%f" "%p"};
`)
	if g.helpers["owner"] {
		h.WriteString("my $owner = getpwuid($<) . ':' . getgrgid((split ' ', $()[0]);\n")
	}
	h.WriteString("# Where each server's log stood when it was last started.\nmy %log_at;\n")
	h.WriteString("# The last wait for a standby's streaming: the outcome asserted.\nmy $outcome;\n")
	return h.String()
}

// perlLit is s as a single-quoted Perl string.
func perlLit(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// expr is an action's string as a Perl expression for node: literals
// quoted, ${variables} the test's values, each passed through quote (a
// helper's name, or "" for as is).
func (g *tapGen) expr(node, s, quote string) string {
	var parts []string
	for _, pc := range pieces(s) {
		if !pc.isVar {
			parts = append(parts, perlLit(pc.text))
			continue
		}
		v := g.variable(node, pc.text)
		if quote != "" {
			g.helpers[quote] = true
			v = quote + "(" + v + ")"
		}
		parts = append(parts, v)
	}
	return strings.Join(parts, " . ")
}

func (g *tapGen) variable(node, name string) string {
	switch name {
	case "data":
		return "$" + node + "->data_dir"
	case "config_dir":
		return "'conf.d'"
	case "storage":
		return "$archive"
	case "owner":
		g.helpers["owner"] = true
		return "$owner"
	case "archive_command":
		return "$archive_command"
	case "restore_command":
		return "$restore_command"
	case "backup":
		return "$backup"
	}
	if n, ok := strings.CutPrefix(name, "host:"); ok {
		return "$" + n + "->host"
	}
	if n, ok := strings.CutPrefix(name, "port:"); ok {
		return "$" + n + "->port"
	}
	return perlLit("${" + name + "}")
}

// started starts node unless it runs (start_node).
func (g *tapGen) started(node string) {
	g.helpers["start_node"] = true
	g.helpers["wait_exited"] = true // start_node asks postmaster_alive
	g.p("start_node($%s);", node)
}

// wait wraps a module wait in the action's deadline.
func (g *tapGen) wait(a playbook.Action, call, what string) {
	g.p("{")
	g.p("\tlocal $PostgreSQL::Test::Utils::timeout_default = %d;", seconds(a.Deadline))
	g.p("\t%s\n\t  or die %s;", call, perlLit(fmt.Sprintf("%s did not %s within %ds", a.Node(), what, seconds(a.Deadline))))
	g.p("}")
}

func (g *tapGen) sql(node, q string) {
	g.p("$%s->safe_psql('postgres', %s);", node, q)
}

// tapForms is the TAP form of each verb of the vocabulary.
var tapForms = map[string]tapForm{
	"reset lab": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.p("# Each test starts from an empty tmp_check: nothing to reset.")
		return nil
	},
	"initdb": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.p("# allows_streaming: wal_level replica and local replication connections.")
		g.p("$%s->init(allows_streaming => 1);", a.Node())
		g.p("mkdir $%s->data_dir . '/conf.d';", a.Node())
		return nil
	},
	"append": func(g *tapGen, si, ai int, a playbook.Action) error {
		var lines []string
		for _, l := range a.Args {
			lines = append(lines, "\t"+g.expr(a.Node(), l, "conf_str"))
		}
		g.p("$%s->append_conf(%s, join(\"\\n\",\n%s));", a.Node(), perlLit(a.File), strings.Join(lines, ",\n"))
		return nil
	},
	"replace": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.helpers["replace_conf"] = true
		g.p("replace_conf($%s, %s, %s, %s);", a.Node(), perlLit(a.File), g.expr(a.Node(), a.Args[0], "conf_str"), g.expr(a.Node(), a.Args[1], "conf_str"))
		return nil
	},
	"copy-conf": func(g *tapGen, si, ai int, a playbook.Action) error {
		raw, err := g.o.Lab.ReadFile(a.File)
		if err != nil {
			return err
		}
		up := upstreamOf(g.o.Doc, a.Node())
		// Placeholders survive the escaping of the heredoc's $, @ and \.
		text := fillPrimary(string(raw), "\x00HOST\x00", "\x00PORT\x00")
		text = strings.NewReplacer(`\`, `\\`, `$`, `\$`, `@`, `\@`).Replace(text)
		text = strings.NewReplacer("\x00HOST\x00", "@{[ $"+up+"->host ]}", "\x00PORT\x00", "@{[ $"+up+"->port ]}").Replace(text)
		g.helpers["write_conf"] = true
		g.p("# The lab's %s, as it was when exported.", a.File)
		g.p("write_conf($%s, %s, <<\"EOF\");\n%sEOF", a.Node(), perlLit(a.File), strings.TrimRight(text, "\n")+"\n")
		return nil
	},
	"signal": func(g *tapGen, si, ai int, a playbook.Action) error {
		if a.Args[0] == "standby" {
			g.p("$%s->set_standby_mode;", a.Node())
		} else {
			g.p("$%s->set_recovery_mode;", a.Node())
		}
		return nil
	},
	"remove": func(g *tapGen, si, ai int, a playbook.Action) error {
		dir := ""
		if a.Area == "config" {
			dir = "/conf.d"
		}
		g.p("unlink($%s->data_dir . %s) or die \"remove %s: $!\";", a.Node(), perlLit(dir+"/"+a.File), a.File)
		return nil
	},
	"remove-data-dir": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.p("rmtree($%s->data_dir);", a.Node())
		return nil
	},
	"start": func(g *tapGen, si, ai int, a playbook.Action) error {
		if len(a.Nodes) > 1 {
			g.p("# The framework starts one server at a time (pg_ctl -w); walstep starts")
			g.p("# them together. Both restore from the same archive either way.")
		}
		for _, n := range a.Nodes {
			g.started(n)
		}
		return nil
	},
	"restart": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.p("$%s->stop;", a.Node())
		g.started(a.Node())
		return nil
	},
	"stop": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.p("$%s->stop(%s);", a.Node(), perlLit(a.Args[0]))
		return nil
	},
	"kill": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.p("# SIGKILL to the postmaster: a crash at this point.")
		g.p("$%s->kill9;", a.Node())
		return nil
	},
	"marker write": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.helpers["marker_seen"] = true
		g.p("# A write walstep makes: a marker row, flushed on %s.", a.Node())
		g.p("write_marker($%s, 'step %s');", a.Node(), g.o.Doc.Steps[si].ID)
		return nil
	},
	"marker check": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.helpers["marker_seen"] = true
		id := markerStep(g.o.Doc, si, ai)
		if g.out.isProof(si, ai) {
			// The outcome's proof: the assertions read this result.
			g.p("my $proof_seen = marker_on($%s, 'step %s', %d);", a.Node(), id, seconds(a.Deadline))
			g.p("note($proof_seen ? 'the marker reached %s' : 'the marker did not reach %s within %ds');", a.Node(), a.Node(), seconds(a.Deadline))
			return nil
		}
		g.p("note(marker_on($%s, 'step %s', %d) ? 'the marker reached %s' : 'the marker did not reach %s within %ds');", a.Node(), id, seconds(a.Deadline), a.Node(), a.Node(), seconds(a.Deadline))
		return nil
	},
	"promote": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.p("$%s->promote;", a.Node())
		return nil
	},
	"wait ready": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.wait(a, fmt.Sprintf("$%s->poll_query_until('postgres', 'select true')", a.Node()), "accept connections")
		return nil
	},
	"wait promoted": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.wait(a, fmt.Sprintf("$%s->poll_query_until('postgres', 'select not pg_is_in_recovery()')", a.Node()), "leave recovery")
		return nil
	},
	"wait end-of-recovery": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.wait(a, fmt.Sprintf("$%s->poll_query_until('postgres',\n\t\t\"select not pg_is_in_recovery() or pg_get_wal_replay_pause_state() <> 'not paused'\")", a.Node()), "promote or pause at the end of recovery")
		return nil
	},
	"wait target-shutdown": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.p("# recovery_target_action = 'shutdown': the server stops by itself.")
		g.wait(a, fmt.Sprintf("$%s->wait_for_log(qr/database system is shut down/, $log_at{%s})", a.Node(), a.Node()), "shut down at its recovery target")
		g.helpers["wait_exited"] = true
		g.p("wait_exited($%s, %d);", a.Node(), seconds(a.Deadline))
		return nil
	},
	"wait stopped": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.helpers["wait_exited"] = true
		g.p("wait_exited($%s, %d);", a.Node(), seconds(a.Deadline))
		return nil
	},
	"wait streaming": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.helpers["wait_outcome"] = true
		up := g.o.Doc.UpstreamAt(a.Line, a.Node())
		g.p("# The outcome: %s streams from %s, or is refused.", a.Node(), up)
		g.p("$outcome = wait_outcome($%s, $%s, $log_at{%s}, %d);", a.Node(), up, a.Node(), seconds(a.Deadline))
		g.p("note \"outcome: $outcome\";")
		return nil
	},
	"wait log": func(g *tapGen, si, ai int, a playbook.Action) error {
		pat := strings.ReplaceAll(a.Args[0], "/", `\/`)
		g.wait(a, fmt.Sprintf("$%s->wait_for_log(qr/%s/, $log_at{%s})", a.Node(), pat, a.Node()), "log /"+a.Args[0]+"/")
		return nil
	},
	"wait sql": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.wait(a, fmt.Sprintf("$%s->poll_query_until('postgres', %s)", a.Node(), g.expr(a.Node(), a.Args[0], "sql_lit")), "return true for "+a.Args[0])
		return nil
	},
	"sql": func(g *tapGen, si, ai int, a playbook.Action) error {
		for _, q := range a.Args {
			g.sql(a.Node(), g.expr(a.Node(), q, "sql_lit"))
		}
		return nil
	},
	"shell": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.helpers["run_on"] = true
		g.runAsNote(a)
		g.p("run_on($%s, 'sh', '-c', %s);", a.Node(), g.expr(a.Node(), a.Args[0], "sh_q"))
		return nil
	},
	"exec": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.helpers["run_on"] = true
		g.runAsNote(a)
		var words []string
		for _, w := range a.Args {
			words = append(words, g.expr(a.Node(), w, ""))
		}
		g.p("run_on($%s, %s);", a.Node(), strings.Join(words, ", "))
		return nil
	},
	"backup push": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.p("# WAL-G's backup-push: a base backup without WAL (-X none); a restore")
		g.p("# reads the WAL from the archive.")
		g.p("my $backup = 'base';")
		g.p("$%s->backup($backup, backup_options => ['-X', 'none']);", a.Node())
		g.pushed = true
		return nil
	},
	"backup find": func(g *tapGen, si, ai int, a playbook.Action) error {
		if !g.pushed {
			return fmt.Errorf("no backup push before it: the TAP test can only restore a backup it took")
		}
		g.p("# WAL-G names a backup after its start segment; here it is $backup.")
		return nil
	},
	"backup fetch": func(g *tapGen, si, ai int, a playbook.Action) error {
		if !g.pushed {
			return fmt.Errorf("no backup push before it: the TAP test can only restore a backup it took")
		}
		from := backupPusher(g.o.Doc, si, ai)
		g.p("# WAL-G's backup-fetch: the backup's files; its port and socket are this node's.")
		g.p("$%s->init_from_backup($%s, $backup);", a.Node(), from)
		g.p("mkdir $%s->data_dir . '/conf.d';", a.Node())
		return nil
	},
	"slot create": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.sql(a.Node(), perlLit("select pg_create_physical_replication_slot('"+a.Args[0]+"')"))
		return nil
	},
	"slot drop": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.sql(a.Node(), perlLit("select pg_drop_replication_slot('"+a.Args[0]+"')"))
		return nil
	},
	"switch-wal": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.sql(a.Node(), perlLit("select pg_switch_wal()"))
		return nil
	},
	"archive-failures": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.p("note 'archive_command failures in the %s log so far: '", a.Node())
		g.p("  . (() = slurp_file($%s->logfile) =~ /archive command failed/g);", a.Node())
		return nil
	},
	"say": func(g *tapGen, si, ai int, a playbook.Action) error {
		g.p("note %s;", perlLit(a.Args[0]))
		return nil
	},
}

// runAsNote says where a root command runs as the test's user.
func (g *tapGen) runAsNote(a playbook.Action) {
	if a.User == "root" {
		g.p("# As the test's user: the framework runs every server as one user.")
	}
}

// assertions check the outcome walstep saw, from the standby's log and
// from the data.
func (g *tapGen) assertions() {
	sb, up, origin := g.out.standby, g.out.upstream, g.out.origin
	g.helpers["marker_seen"] = true
	g.p("")
	if g.o.Expect == pg.VerdictDiverged {
		g.p("# What walstep saw: %s replayed WAL past the fork, which %s never had,", sb, up)
		g.p("# so %s refuses to stream it from there.", up)
		g.p("like($outcome, qr/%s/,", refusals)
		g.p("\t'%s is refused');", sb)
		g.p("")
		g.p("# The proof from the data: a row committed on %s, flushed there, never", origin)
		g.p("# reaches %s, which stays on the abandoned timeline.", sb)
		g.p("ok(!%s, 'a row committed on %s never reaches %s');", g.seen(MarkerWait), origin, sb)
	} else {
		g.p("# What walstep saw: %s streams from %s on its new timeline.", sb, up)
		g.p("is($outcome, 'streaming', '%s streams from %s');", sb, up)
		g.p("")
		g.p("# The proof from the data: a row committed on %s reaches %s.", origin, sb)
		g.p("ok(%s, 'a row committed on %s reaches %s');", g.seen(g.out.deadline), origin, sb)
	}
}

// seen is the Perl for whether the marker reached the standby: the
// playbook's own proof step's result when it has one (the same marker
// walstep looked for), else a marker written here, looked for up to d.
func (g *tapGen) seen(d time.Duration) string {
	if g.out.proofStep >= 0 {
		return "$proof_seen"
	}
	return fmt.Sprintf("marker_seen($%s, $%s, %d)", g.out.origin, g.out.standby, seconds(d))
}

// perlSubs are the helpers a test may call, each defined only when used.
var perlSubs = map[string]string{
	"conf_str": `# A value quoted for postgresql.conf.
sub conf_str { my ($v) = @_; $v =~ s/'/''/g; return "'$v'"; }
`,
	"sql_lit": `# A value quoted as an SQL literal.
sub sql_lit { my ($v) = @_; $v =~ s/'/''/g; return "'$v'"; }
`,
	"sh_q": `# A value quoted for sh.
sub sh_q { my ($v) = @_; $v =~ s/'/'\\''/g; return "'$v'"; }
`,
	"write_conf": `# Write a file into node's conf.d, replacing one there.
sub write_conf
{
	my ($node, $name, $text) = @_;
	my $path = $node->data_dir . "/conf.d/$name";
	unlink $path;
	PostgreSQL::Test::Utils::append_to_file($path, $text);
}
`,
	"replace_conf": `# Replace the lines of a conf file that start with match (or add line).
sub replace_conf
{
	my ($node, $file, $match, $line) = @_;
	my $path = $node->data_dir . "/$file";
	my @lines = split /\n/, slurp_file($path);
	my $n = grep { s/^\s*\Q$match\E.*$/$line/ } @lines;
	push @lines, $line unless $n;
	unlink $path;
	PostgreSQL::Test::Utils::append_to_file($path, join("\n", @lines) . "\n");
}
`,
	"run_on": `# Run a command with node's PGHOST, PGPORT and PGDATA.
sub run_on
{
	my ($node, @argv) = @_;
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{PGDATA} = $node->data_dir;
	PostgreSQL::Test::Utils::system_or_bail(@argv);
}
`,
	"start_node": `# Start node unless it runs, noting where its log stands so that waits
# read what comes after. fail_ok: a server that stops at its recovery
# target may exit before pg_ctl sees it ready; the wait after says.
sub start_node
{
	my ($node) = @_;
	if (postmaster_alive($node))
	{
		note $node->name . ' runs already';
		return;
	}
	$log_at{ $node->name } = -s $node->logfile // 0;
	$node->start(fail_ok => 1);
}
`,
	"wait_exited": `# Wait until node's postmaster has exited by itself, then tell the
# module, so that a later start or stop knows it is down.
sub wait_exited
{
	my ($node, $secs) = @_;
	for (my $i = 0; postmaster_alive($node); $i++)
	{
		die $node->name . " still running after ${secs}s" if $i >= 10 * $secs;
		usleep(100_000);
	}
	$node->_update_pid(-1);
}

# Whether node's postmaster.pid names a live process (a killed server
# leaves the file behind).
sub postmaster_alive
{
	my ($node) = @_;
	open my $f, '<', $node->data_dir . '/postmaster.pid' or return 0;
	chomp(my $pid = <$f> // '');
	close $f;
	return $pid ne '' && kill(0, $pid);
}
`,
	"wait_outcome": `# Wait until the standby streams from its upstream ('streaming', as the
# upstream's pg_stat_replication says) or its log since $from shows it
# refused ('refused: LINE'); die at the deadline.
sub wait_outcome
{
	my ($standby, $upstream, $from, $secs) = @_;
	my $name = $standby->name;
	for (my $i = 0; $i < 10 * $secs; $i++)
	{
		my $log = slurp_file($standby->logfile, $from);
		return "refused: $1" if $log =~ /^(.*(?:REFUSALS).*)$/m;
		return 'streaming'
		  if $upstream->safe_psql('postgres',
			"select count(*) from pg_stat_replication where application_name = '$name' and state = 'streaming'") > 0;
		usleep(100_000);
	}
	die "$name neither streams nor reports a refusal after ${secs}s";
}
`,
	"marker_seen": `# Commit a marker row on the upstream and look for it on the standby.
sub marker_seen
{
	my ($upstream, $standby, $secs) = @_;
	write_marker($upstream, 'proof');
	return marker_on($standby, 'proof', $secs);
}

# Commit marker row id on node and wait until node has flushed it.
sub write_marker
{
	my ($node, $id) = @_;
	$node->safe_psql('postgres',
		"create table if not exists walstep_marker (id text primary key, written timestamptz not null default now())");
	my $lsn = $node->safe_psql('postgres',
		"insert into walstep_marker (id) values ('$id') returning pg_current_wal_insert_lsn()");
	$node->poll_query_until('postgres', "select pg_current_wal_flush_lsn() >= '$lsn'")
	  or die 'the marker was not flushed';
}

# Whether marker row id shows on node within $secs seconds.
sub marker_on
{
	my ($node, $id, $secs) = @_;
	for (my $i = 0; $i < 10 * $secs; $i++)
	{
		return 1
		  if $node->safe_psql('postgres',
			"select to_regclass('walstep_marker') is not null") eq 't'
		  && $node->safe_psql('postgres',
			"select count(*) from walstep_marker where id = '$id'") == 1;
		usleep(100_000);
	}
	return 0;
}
`,
}

// subs are the helpers the test called, in a stable order.
func (g *tapGen) subs() string {
	var names []string
	for n := range g.helpers {
		if _, ok := perlSubs[n]; ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString("\n" + strings.Replace(perlSubs[n], "REFUSALS", refusals, 1))
	}
	return b.String()
}
