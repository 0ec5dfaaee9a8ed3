package cluster

// Peers is implemented by backends whose servers reach one another: a
// standby's primary_conninfo and pg_rewind's source name another node by
// the address its own environment sees.
type Peers interface {
	// PeerAddr is how the lab's servers reach node's server.
	PeerAddr(node Node) (host, port string)
}

// PeerAddr implements Peers: the node's Paths say it (every local server
// listens on 127.0.0.1).
func (l *Local) PeerAddr(node Node) (string, string) {
	p := l.Paths(node)
	return p.Host, p.Port
}

// PeerAddr implements Peers: a container is reached on the lab's network
// by its node name, as the seed's compose service names are (its Paths).
func (d *Docker) PeerAddr(node Node) (string, string) {
	p := d.Paths(node)
	return p.Host, p.Port
}
