package pg

import (
	"net"
	"strconv"
	"strings"
)

// Pair is a standby and the node it is judged against: the one it
// follows.
type Pair struct {
	Upstream string `json:"upstream"`
	Standby  string `json:"standby"`
	// From says how the upstream was told: "wal receiver" (the host and
	// port it streams from), "primary_conninfo" (what it is set to reach)
	// or "playbook" (the node declared, when neither names a node).
	From string `json:"from"`
}

// How a standby's upstream was told, best first.
const (
	FromReceiver = "wal receiver"
	FromConninfo = "primary_conninfo"
	FromPlaybook = "playbook"
)

// resolveUpstreams sets each node's Follows: the node whose address
// (addrs: node → host:port as the servers reach it) its wal receiver
// streams from, else the one its primary_conninfo names, else the
// playbook's upstream. A server out of recovery follows nothing it says,
// so only the playbook names its upstream (and the judge then finds it
// promoted).
func (s *Snapshot) resolveUpstreams(addrs map[string]string) {
	byAddr := map[string]string{}
	for n, a := range addrs {
		byAddr[a] = n
	}
	for i := range s.Nodes {
		r := &s.Nodes[i]
		r.Follows, r.FollowsFrom = "", ""
		if rc := r.Receiver; rc != nil && rc.SenderHost != "" && rc.SenderPort > 0 {
			if n, ok := byAddr[net.JoinHostPort(rc.SenderHost, strconv.Itoa(rc.SenderPort))]; ok && n != r.Node {
				r.Follows, r.FollowsFrom = n, FromReceiver
				continue
			}
		}
		if r.ConnHost != "" {
			port := r.ConnPort
			if port == "" {
				port = "5432"
			}
			if n, ok := byAddr[net.JoinHostPort(r.ConnHost, port)]; ok && n != r.Node {
				r.Follows, r.FollowsFrom = n, FromConninfo
				continue
			}
		}
		if r.Upstream != "" {
			r.Follows, r.FollowsFrom = r.Upstream, FromPlaybook
		}
	}
}

// Pairs lists each standby with the node it follows, in the snapshot's
// order. A reading without Follows (one not from a poller) follows its
// Upstream.
//
// A running primary that only the playbook makes a standby of a node
// in recovery that, by its wal receiver or primary_conninfo, follows it
// (a promoted node's primary_conninfo follows nothing) is no standby
// yet: it is that node's upstream (the playbook declares where the nodes
// end, as after a switchover), so it is not judged as one.
func (s Snapshot) Pairs() []Pair {
	var out []Pair
	for _, r := range s.Nodes {
		up, from := r.Follows, r.FollowsFrom
		if up == "" && r.Upstream != "" {
			up, from = r.Upstream, FromPlaybook
		}
		if up == "" {
			continue
		}
		if u := s.Node(up); from == FromPlaybook && r.Up && !r.InRecovery && u.Up && u.InRecovery && u.Follows == r.Node && u.FollowsFrom != FromPlaybook && u.FollowsFrom != "" {
			continue
		}
		out = append(out, Pair{Upstream: up, Standby: r.Node, From: from})
	}
	return out
}

// conninfoHostPort is the host and port a primary_conninfo names
// (keyword=value form, values quoted or not, or a postgres:// URI); the
// rest, a password among it, is not kept.
func conninfoHostPort(ci string) (host, port string) {
	ci = strings.TrimSpace(ci)
	if strings.HasPrefix(ci, "postgres://") || strings.HasPrefix(ci, "postgresql://") {
		rest := ci[strings.Index(ci, "://")+3:]
		if i := strings.IndexAny(rest, "/?"); i >= 0 {
			rest = rest[:i]
		}
		if i := strings.LastIndexByte(rest, '@'); i >= 0 {
			rest = rest[i+1:]
		}
		if h, p, err := net.SplitHostPort(rest); err == nil {
			return h, p
		}
		return rest, ""
	}
	for len(ci) > 0 {
		ci = strings.TrimLeft(ci, " \t\n")
		eq := strings.IndexByte(ci, '=')
		if eq < 0 {
			break
		}
		key := strings.TrimSpace(ci[:eq])
		ci = strings.TrimLeft(ci[eq+1:], " \t")
		var val strings.Builder
		if strings.HasPrefix(ci, "'") {
			i := 1
			for ; i < len(ci) && ci[i] != '\''; i++ {
				if ci[i] == '\\' && i+1 < len(ci) {
					i++
				}
				val.WriteByte(ci[i])
			}
			ci = ci[min(i+1, len(ci)):]
		} else {
			i := strings.IndexAny(ci, " \t\n")
			if i < 0 {
				i = len(ci)
			}
			val.WriteString(ci[:i])
			ci = ci[i:]
		}
		switch key {
		case "host":
			host = val.String()
		case "port":
			port = val.String()
		}
	}
	return host, port
}
