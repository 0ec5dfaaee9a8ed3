package cluster

import (
	"context"
	"time"

	"github.com/docker/docker/api/types/container"
)

// sweepScript defines walstep_sweep SELF MARK, a shell function that ends
// the processes of the session SELF leads (a docker exec is a session of
// its own), those whose environment holds MARK (which those leaving the
// session with setsid keep) and orphans that carry no command's mark (the
// engine's init, pid 1, adopted them: one that also cleared its
// environment), but not SELF: SIGTERM and SIGCONT, then SIGKILL after
// about a second; it returns once none runs (1 after about ten seconds)
// and prints which it ended. It reads /proc only, as images may lack ps,
// and finds the marked ones with one grep a pass (-z, GNU's and
// busybox's; else one per process). The postmaster (init's child named
// postgres) and its children are in none of these.
const sweepScript = `walstep_marked() {
  if [ -z "$ws_z" ]; then ws_z=no; printf 'a\0' | grep -qzx a 2>/dev/null && ws_z=yes; fi
  if [ "$ws_z" = yes ]; then
    for ws_f in $(grep -lzxF "$1" /proc/[0-9]*/environ 2>/dev/null); do ws_f=${ws_f#/proc/}; printf '%s ' "${ws_f%/environ}"; done
  else
    for ws_f in /proc/[0-9]*/environ; do
      { tr '\0' '\n' < "$ws_f" | grep -qxF "$1"; } 2>/dev/null && { ws_f=${ws_f#/proc/}; printf '%s ' "${ws_f%/environ}"; }
    done
  fi
}
walstep_sweep() {
  ws_self=$1 ws_mark=$2 ws_sig=TERM ws_i=0 ws_seen=" " ws_names=""
  while :; do
    ws_n=0
    ws_marked=" $(walstep_marked "$ws_mark")"
    for ws_d in /proc/[0-9]*; do
      ws_p=${ws_d#/proc/}
      [ "$ws_p" = "$ws_self" ] && continue
      { read -r ws_st < "$ws_d/stat"; } 2>/dev/null || continue
      ws_comm=${ws_st#*(}; ws_comm=${ws_comm%)*}
      set -- ${ws_st##*) }
      [ "$1" = Z ] && continue
      if [ "$4" != "$ws_self" ]; then
        case "$ws_marked" in
        *" $ws_p "*) ;;
        *)
          [ "$2" = 1 ] && [ "$ws_comm" != postgres ] || continue
          # An orphan: only one no command marked.
          { tr '\0' '\n' < "$ws_d/environ" | grep -q '^` + markVar + `='; } 2>/dev/null && continue
          ;;
        esac
      fi
      kill -$ws_sig "$ws_p" 2>/dev/null || continue
      kill -CONT "$ws_p" 2>/dev/null
      ws_n=$((ws_n+1))
      case "$ws_seen" in *" $ws_p "*) ;; *) ws_seen="$ws_seen$ws_p "; ws_names="$ws_names${ws_names:+, }$ws_comm (pid $ws_p)";; esac
    done
    [ "$ws_n" = 0 ] && break
    ws_i=$((ws_i+1))
    [ "$ws_i" -ge 10 ] && ws_sig=KILL
    if [ "$ws_i" -ge 100 ]; then echo "walstep: $ws_n process(es) it left still run" >&2; return 1; fi
    sleep 0.1 2>/dev/null || sleep 1
  done
  [ -n "$ws_names" ] && echo "ended $(echo "$ws_seen" | wc -w) process(es) it left running: $ws_names"
  return 0
}`

// killTree is a shell function that prints a process and all its
// descendants, read from /proc (the children files are not always there).
const killTree = `tree() { echo "$1"; for s in /proc/[0-9]*/stat; do read -r pid comm state ppid rest < "$s" 2>/dev/null || continue; [ "$ppid" = "$1" ] && tree "$pid"; done; }`

// killExec stops the process tree of exec execID, found by the pid its
// wrapper wrote to marker, then, as root, ends what it left (its session,
// the processes carrying mark), and waits until that exec has ended.
func (d *Docker) killExec(ctx context.Context, id, marker, mark, execID string) error {
	script := killTree + "\n" + sweepScript + `
p=$(cat "$1" 2>/dev/null) || p=0
[ "$p" = 0 ] || kill -TERM $(tree "$p") 2>/dev/null
walstep_sweep "$p" "` + markVar + `=$2" >/dev/null
rm -f "$1"
exit 0`
	cr, err := d.cli.ContainerExecCreate(ctx, id, container.ExecOptions{User: "root", Cmd: []string{"sh", "-c", script, "sh", marker, mark}})
	if err != nil {
		return d.explain(err)
	}
	if err := d.cli.ContainerExecStart(ctx, cr.ID, container.ExecStartOptions{}); err != nil {
		return d.explain(err)
	}
	return Until(ctx, 20*time.Second, "the cancelled command to stop", func(ctx context.Context) (bool, error) {
		ei, err := d.cli.ContainerExecInspect(ctx, execID)
		return err == nil && !ei.Running, err
	})
}
