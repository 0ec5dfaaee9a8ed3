package tui

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"walstep/cluster"
	"walstep/pg"
)

func TestLogViewReadsInACommand(t *testing.T) {
	m, _ := testModel(freshSnap())
	m.cfg.Servers = &fakeServers{logs: map[cluster.Node][]string{
		cluster.Primary: {"LOG:  database system is ready", "FATAL:  boom"},
		cluster.Replica: {"LOG:  replica line"},
	}}
	m, cmd := press(m, "l")
	if m.screen != screenLog || cmd == nil || !m.logView.busy {
		t.Fatalf("l did not open the log view with a read command")
	}
	m = send(m, cmd())
	if v := m.View(); !strings.Contains(v, "FATAL:  boom") || !strings.Contains(v, "primary log") {
		t.Errorf("log view:\n%s", v)
	}
	m, cmd = press(m, "tab")
	m = send(m, cmd())
	if v := m.View(); !strings.Contains(v, "replica line") {
		t.Errorf("tab did not switch to the replica's log:\n%s", v)
	}
	m, _ = press(m, "up", "down", "pgup", "pgdown", "home", "end")
	m, _ = press(m, "esc")
	if m.screen != screenMain {
		t.Error("esc did not close the log view")
	}
	m, _ = press(m, "l", "l")
	if m.screen != screenMain {
		t.Error("l did not toggle the log view")
	}
}

func TestStaleViewReadIsDropped(t *testing.T) {
	m, _ := testModel(freshSnap())
	m.cfg.Servers = &fakeServers{logs: map[cluster.Node][]string{cluster.Primary: {"old"}}}
	m, cmd := press(m, "l")
	stale := cmd()
	m, _ = press(m, "esc", "i")
	m = send(m, stale)
	if strings.Contains(m.View(), "old") {
		t.Error("a log read that arrived after the view changed was shown")
	}
}

func TestInspectViewShowsTheDataDir(t *testing.T) {
	lab := t.TempDir()
	dd := filepath.Join(lab, cluster.PrimaryData)
	cfg := filepath.Join(lab, cluster.PrimaryConfig)
	for _, d := range []string{filepath.Join(dd, "pg_wal", "archive_status"), cfg} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dd, "postgresql.conf"), "max_connections = 100\n#---\n# CUSTOMIZED OPTIONS\n"+pg.InitdbConfEnd+"\n\ninclude_dir = '/custom-pg-configs'\narchive_mode = on\nrestore_command = 'cp /x/%f %p'\n")
	write(filepath.Join(dd, "recovery.signal"), "")
	write(filepath.Join(cfg, "primary_restore.conf"), "# comment\nrecovery_target = 'immediate'\nrecovery_target_action = 'promote'\n")
	write(filepath.Join(dd, "pg_wal", "000000010000000000000002"), "x")
	write(filepath.Join(dd, "pg_wal", "00000002.history"), "1\t0/2000100\treached consistency\n")
	write(filepath.Join(dd, "pg_wal", "archive_status", "000000010000000000000002.done"), "")

	m, _ := testModel(freshSnap())
	m.cfg.LabDir = lab
	m.cfg.Servers = &fakeServers{
		dataDir: map[cluster.Node]string{cluster.Primary: dd, cluster.Replica: filepath.Join(lab, cluster.ReplicaData)},
		control: "Database cluster state:               shut down in recovery\nLatest checkpoint location:           0/2000060\nLatest checkpoint's TimeLineID:       1\nMinimum recovery ending location:     0/2000100\nMin recovery ending loc's timeline:   1\n",
	}
	m = send(m, tea.WindowSizeMsg{Width: 100, Height: 60})
	m, cmd := press(m, "i")
	if m.screen != screenInspect || cmd == nil {
		t.Fatal("i did not open the inspect view with a read command")
	}
	m = send(m, cmd())
	v := m.View()
	for _, want := range []string{
		"recovery.signal  present", "standby.signal   absent",
		"archive_mode = on", "restore_command = 'cp /x/%f %p'",
		"include_dir '/custom-pg-configs' -> " + cfg, "recovery_target = 'immediate'",
		"000000010000000000000002", "archive_status: 000000010000000000000002.done",
		"state: shut down in recovery", "minimum recovery point: 0/2000100 on timeline 1",
		"00000002.history", "1\t0/2000100\treached consistency",
	} {
		if !strings.Contains(v, want) && !strings.Contains(m.inspectView.text, want) {
			t.Errorf("inspect view lacks %q:\n%s", want, m.inspectView.text)
		}
	}
	if strings.Contains(m.inspectView.text, "max_connections") {
		t.Error("inspect shows initdb's own settings as appended")
	}
	m, cmd = press(m, "tab")
	m = send(m, cmd())
	if !strings.Contains(m.inspectView.text, "does not exist yet") {
		t.Errorf("replica without a data dir:\n%s", m.inspectView.text)
	}
	m, _ = press(m, "i")
	if m.screen != screenMain {
		t.Error("i did not close the inspect view")
	}
}

func TestArchiveAndDiagnosisViews(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = polled(m, divergedSnap(clock))
	m, cmd := press(m, "a")
	if m.screen != screenArchive || cmd != nil {
		t.Fatalf("a: screen %d, cmd %v (the archive view draws from the last poll)", m.screen, cmd)
	}
	if v := m.View(); !strings.Contains(v, "Backups") {
		t.Errorf("archive view:\n%s", v)
	}
	m, _ = press(m, "tab") // no other server here
	if m.screen != screenArchive {
		t.Error("tab left the archive view")
	}
	m, _ = press(m, "a", "d")
	if m.screen != screenDiagnosis {
		t.Fatalf("d: screen %d", m.screen)
	}
	v := m.View()
	for _, want := range []string{"Verdict: DIVERGED", "Evidence:", "TL2"} {
		if !strings.Contains(v, want) && !strings.Contains(m.diagnosisText(m.width), want) {
			t.Errorf("diagnosis view lacks %q:\n%s", want, v)
		}
	}
	m, _ = press(m, "esc")
	if m.screen != screenMain {
		t.Error("esc did not close the diagnosis view")
	}
}

func TestShellKeyRunsTheBackendShell(t *testing.T) {
	m, _ := testModel(freshSnap())
	dir := t.TempDir()
	m.cfg.Servers = &fakeServers{shell: []string{"sh", "-c", "exit 0"}, dataDir: map[cluster.Node]string{cluster.Primary: dir}}
	m, cmd := press(m, "x")
	if cmd == nil {
		t.Fatal("x gave no command")
	}
	msg, ok := cmd().(shellMsg)
	if !ok || msg.cmd.Dir != dir || msg.node != cluster.Primary || !reflect.DeepEqual(msg.cmd.Args[4:], []string{"sh", "-c", "exit 0"}) {
		t.Fatalf("shell command = %+v", msg)
	}
	if out, err := msg.cmd.Output(); err != nil || !strings.Contains(string(out), "a shell in the primary's environment") {
		t.Errorf("the shell's banner: %q, %v", out, err)
	}
	nm, exec := m.Update(msg)
	if exec == nil {
		t.Fatal("no exec command for the shell")
	}
	m = nm.(Model)
	m = send(m, shellDoneMsg{node: cluster.Primary})
	if !strings.Contains(m.notice, "back from the primary's shell") {
		t.Errorf("notice after the shell: %q", m.notice)
	}
	// A data dir that does not exist yet: the shell starts elsewhere, and says so.
	m.cfg.Servers = &fakeServers{shell: []string{"sh"}, dataDir: map[cluster.Node]string{cluster.Primary: filepath.Join(dir, "missing")}}
	_, cmd = press(m, "x")
	msg = cmd().(shellMsg)
	if msg.cmd.Dir != "" || !strings.Contains(msg.note, "does not exist yet") {
		t.Errorf("missing dir: %+v", msg)
	}
}
