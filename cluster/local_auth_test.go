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
