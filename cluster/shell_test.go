package cluster

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The shell (x) on Docker is root's, as the seed's `docker exec -it primary
// /bin/bash` is; the local one has PGDATA set to the node's data dir, and
// psql in it reaches that node.
func TestShellArgv(t *testing.T) {
	d := &Docker{prefix: "walstep-x"}
	argv, _ := d.Shell(Primary)
	if i := slices.Index(argv, "-u"); i < 0 || argv[i+1] != "root" || argv[len(argv)-2] != "walstep-x-primary" {
		t.Errorf("docker shell %q", argv)
	}

	_, l := localLab(t)
	argv, dir := l.Shell(Replica)
	if dir != l.DataDir(Replica) || !slices.Contains(argv, "PGDATA="+l.DataDir(Replica)) {
		t.Errorf("local shell %q in %q", argv, dir)
	}
	// The shell's environment, as the user gets it.
	out, err := exec.Command(argv[0], append(argv[1:len(argv)-1], "sh", "-c", `echo "$PGDATA $PGPORT"`)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); !strings.HasPrefix(got, l.DataDir(Replica)+" ") || strings.HasSuffix(got, " ") {
		t.Errorf("shell env %q", got)
	}
}
