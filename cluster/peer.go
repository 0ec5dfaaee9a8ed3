package cluster

import "strconv"

// Peers is implemented by backends whose servers reach one another: a
// standby's primary_conninfo and pg_rewind's source name another node by
// the address its own environment sees.
type Peers interface {
	// PeerAddr is how the lab's servers reach node's server.
	PeerAddr(node Node) (host, port string)
}

// PeerAddr implements Peers: every local server listens on 127.0.0.1.
func (l *Local) PeerAddr(node Node) (string, string) {
	return "127.0.0.1", strconv.Itoa(l.ports[node])
}

// PeerAddr implements Peers: a container is reached on the lab's network
// by its node name, as the seed's compose service names are.
func (d *Docker) PeerAddr(node Node) (string, string) {
	return string(node), containerPGPort
}
