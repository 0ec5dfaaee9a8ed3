package cluster

import (
	"context"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
)

// disconnectWait bounds how long Disconnect waits for the server to end
// the backend; a server that takes longer is stuck or gone anyway.
const disconnectWait = 2 * time.Second

// Disconnect closes c and returns once the server's backend for it has
// exited. pgx's Close sends Terminate and drops the socket at once, so a
// step that stops the server right after (step 4f follows the reading
// taken at 4e's end) can still find that backend alive and make it log
// "FATAL: terminating connection due to administrator command": a line
// walstep caused in the log the user reads. PostgreSQL keeps a backend's
// socket open until the process is gone so that a client can close
// synchronously: send Terminate, then read until the server closes it.
func Disconnect(c *pgx.Conn) {
	if c == nil || c.IsClosed() {
		return
	}
	h, err := c.PgConn().Hijack()
	if err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), disconnectWait)
		defer cancel()
		_ = c.Close(ctx)
		return
	}
	nc := h.Conn
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(disconnectWait))
	// Terminate: message type 'X' and its length, 4, with no body.
	if _, err := nc.Write([]byte{'X', 0, 0, 0, 4}); err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, nc)
}
