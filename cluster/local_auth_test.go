package cluster

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// The local servers ask every TCP client for a password, as the seed's
// containers do for the replica; walstep reaches them through the lab's
// private socket directory. Before, initdb's trust for 127.0.0.1 let any
// local user in as superuser, and the replica's password was never checked.
func TestLocalTCPNeedsPasswordSocketIsPrivate(t *testing.T) {
	_, l := localLab(t)
	ctx := localCtx(t)
	localStarted(t, ctx, l, Primary)

	st, err := os.Stat(l.SocketDir())
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("socket dir mode %v, want 0700", st.Mode().Perm())
	}
	var one int
	if err := QueryRow(ctx, l.ConnString(Primary), "select 1", &one); err != nil || one != 1 {
		t.Fatalf("walstep's own connection through the socket: %v", err)
	}
	tcp := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable", l.Port(Primary))
	err = QueryRow(ctx, tcp, "select 1", &one)
	if err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("TCP without a password: %v, want a refusal asking for a password", err)
	}
}

func TestParsePostmasterFile(t *testing.T) {
	// PostgreSQL 15's postmaster.pid of a hot standby: pid, data dir, start
	// time, port, socket dir, listen address, shared memory key, status.
	pm, ok := ParsePostmasterFile([]byte("31454\n/lab/replica-data\n1796031827\n45432\n../run/sockets\n127.0.0.1\n  1234567     98765\nready   \n"))
	if !ok || pm.PID != 31454 || pm.Start != 1796031827 || pm.Port != 45432 || pm.Status != PMReady || !pm.Accepting() {
		t.Errorf("parsed %+v %v", pm, ok)
	}
	// Written but without a status line yet: not accepting.
	pm, ok = ParsePostmasterFile([]byte("31454\n/lab/replica-data\n1796031827\n45432\n"))
	if !ok || pm.Accepting() {
		t.Errorf("early file: %+v %v", pm, ok)
	}
	if _, ok := ParsePostmasterFile([]byte("garbage")); ok {
		t.Error("garbage parsed")
	}
}
