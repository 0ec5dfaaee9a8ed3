package cluster

import (
	"context"
)

// walstep reaches the Docker servers as it reaches the local ones: through
// a unix socket in a private directory of the lab (run/sockets-<node>,
// 0700, the image's postgres user's), bind-mounted into the server's
// container, where initdb's "local all all trust" lets walstep in. No
// pg_hba line trusts the host, and the password at every TCP address (the
// published port, the container's address on the lab network, both reached
// from the host through the network's gateway) is the lab's secret, not the
// seed's (see Lab.Secret). Only root may traverse a directory the image's
// postgres user owns, so a walstep run by another user polls through the
// published port with the secret, which initdb sets (see hbaLine).

// containerSocket is the server's second socket directory in its container.
const containerSocket = "/walstep-socket"

// socketAuth reports whether walstep reaches the servers through the lab's
// socket directories.
func (d *Docker) socketAuth() bool { return hostIsRoot() }

// SocketDir is the host directory of node's server socket.
func (d *Docker) SocketDir(node Node) string {
	return d.lab.Path(RunDir, SocketsDir+"-"+string(node))
}

// prepareSocketDir makes node's socket directory the image's postgres
// user's, 0700; the data dir (already that user's) tells who that is.
func (d *Docker) prepareSocketDir(ctx context.Context, node Node) error {
	d.learnOwner(d.DataDir(node))
	uid, gid, err := d.postgresIDs(ctx)
	if err != nil {
		return err
	}
	return d.lab.MkdirAll(d.SocketDir(node), 0o700, uid, gid)
}
