package cluster

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// A command exec'd in a server's container that daemonises (a background
// job keeping stdout open, setsid, nohup, a double fork, one ignoring
// SIGTERM, one clearing its environment) ends as soon as its shell does,
// and none of its processes runs in the container once Exec has returned;
// the server and its processes are untouched.
func TestDockerExecEndsWhatItLeaves(t *testing.T) {
	img := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	d := newTestDocker(t, img)
	var out bytes.Buffer
	if err := d.Init(ctx, Primary, &out); err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	if err := d.Start(ctx, Primary, &out); err != nil {
		t.Fatalf("start: %v\n%s", err, out.String())
	}
	waitAccepting(ctx, t, d, Primary)
	serverProcs := func() string {
		// The postmaster is the child of the engine's init (pid 1) named
		// postgres; the server's processes are its children.
		return execOut(ctx, t, d, Primary, "root", "sh", "-c", `pm=; for s in /proc/[0-9]*/stat; do read -r l < "$s" 2>/dev/null || continue; set -- $l; [ "$2" = "(postgres)" ] && [ "$4" = 1 ] && pm=$1; done
echo "$pm"; for s in /proc/[0-9]*/stat; do read -r l < "$s" 2>/dev/null || continue; set -- $l; [ "$4" = "$pm" ] && [ "$3" != Z ] && echo "$1"; done | sort -n | tr '\n' ' '`)
	}
	before := serverProcs()
	if strings.HasPrefix(before, "\n") || !strings.Contains(before, " ") {
		t.Fatalf("no postmaster with children under the container's init: %q", before)
	}
	script := `f=/tmp/pids
sleep 300 & echo $! >> $f
setsid sleep 300 & echo $! >> $f
nohup sleep 300 >/dev/null 2>&1 & echo $! >> $f
setsid sh -c 'sleep 300 & echo $! >> /tmp/pids' >/dev/null 2>&1 &
sh -c 'trap "" TERM; echo $$ >> /tmp/pids; while :; do sleep 1; done' &
env -i setsid sleep 300 >/dev/null 2>&1 & echo $! >> $f
sleep 0.5; echo shell done`
	buf := &syncBuffer{}
	begin := time.Now()
	err := d.Exec(ctx, Primary, "postgres", []string{"sh", "-c", script}, buf)
	took := time.Since(begin)
	t.Logf("Exec returned after %s:\n%s", took.Round(time.Millisecond), buf.String())
	if err != nil {
		t.Errorf("Exec: %v", err)
	}
	if !strings.Contains(buf.String(), "\nshell done\n") || !strings.Contains(buf.String(), "it left running: ") {
		t.Errorf("output does not say what was ended:\n%s", buf.String())
	}
	left := execOut(ctx, t, d, Primary, "root", "sh", "-c", `n=0; for p in $(cat /tmp/pids); do read -r l < /proc/$p/stat 2>/dev/null || continue; set -- $l; [ "$3" = Z ] || { echo "left: $l"; n=$((n+1)); }; done; echo "pids $(wc -w < /tmp/pids)"`)
	if strings.Contains(left, "left: ") || !strings.Contains(left, "pids 6") {
		t.Errorf("processes of the command still run in the container (want 6 pids, none left):\n%s", left)
	}
	if took > 10*time.Second {
		t.Errorf("Exec took %s: it waited for what the command left", took)
	}
	if after := serverProcs(); after != before {
		t.Errorf("the server's processes changed: %s before, %s after", before, after)
	}
	var one int
	if err := QueryRow(ctx, d.ConnString(Primary), "select 1", &one); err != nil {
		t.Errorf("the server no longer answers: %v", err)
	}
}
