package cluster

import (
	"context"
	"fmt"
	"os"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
)

// ensureNetwork creates the lab network when missing and learns its
// gateway; it refuses a network of the same name that another lab owns.
func (d *Docker) ensureNetwork(ctx context.Context) (id, gateway string, err error) {
	d.netMu.Lock()
	defer d.netMu.Unlock()
	d.mu.Lock()
	id, gateway = d.netID, d.gateway
	d.mu.Unlock()
	if id != "" {
		// Cheap re-check: Close or Clean elsewhere may have removed it.
		if _, err := d.cli.NetworkInspect(ctx, id, network.InspectOptions{}); err == nil {
			return id, gateway, nil
		}
	}
	name := d.NetworkName()
	nw, err := d.cli.NetworkInspect(ctx, name, network.InspectOptions{})
	switch {
	case cerrdefs.IsNotFound(err):
		resp, cerr := d.cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge", Labels: d.labels("", "network")})
		if cerr != nil {
			return "", "", fmt.Errorf("create network %s: %w", name, d.explain(cerr))
		}
		if nw, err = d.cli.NetworkInspect(ctx, resp.ID, network.InspectOptions{}); err != nil {
			return "", "", fmt.Errorf("inspect network %s: %w", name, err)
		}
	case err != nil:
		return "", "", fmt.Errorf("inspect network %s: %w", name, d.explain(err))
	case nw.Labels[LabelLab] != d.lab.Dir:
		return "", "", fmt.Errorf("network %s exists and is not this lab's: pass another --prefix", name)
	}
	for _, c := range nw.IPAM.Config {
		if ip := strings.TrimSpace(c.Gateway); ip != "" && !strings.Contains(ip, ":") {
			gateway = ip
			break
		}
	}
	if gateway == "" {
		return "", "", fmt.Errorf("network %s has no IPv4 gateway: remove it (walstep clean) and run again", name)
	}
	d.mu.Lock()
	d.netID, d.gateway = nw.ID, gateway
	d.mu.Unlock()
	return nw.ID, gateway, nil
}

// binds are the seed's bind mounts for node. Host directories are created
// first: otherwise the engine creates them root-owned, and a missing
// run/wal-g.json would become a directory. wal-g.json is mounted only when
// the archiver wrote it (the cp archiver does not use it).
func (d *Docker) binds(node Node) ([]string, error) {
	for _, dir := range []string{d.lab.Path(StorageDir), d.configDir(node)} {
		if err := d.lab.MkdirAll(dir, 0o755, -1, -1); err != nil {
			return nil, err
		}
	}
	b := []string{
		d.DataDir(node) + ":" + containerData,
		d.lab.Path(StorageDir) + ":" + containerStorage,
		d.configDir(node) + ":" + containerConfig,
	}
	if st, err := os.Stat(d.lab.Path(RunDir, WalgJSON)); err == nil && !st.IsDir() {
		b = append(b, d.lab.Path(RunDir, WalgJSON)+":"+containerWalgCfg+":ro")
	}
	if d.walgBin != "" {
		b = append(b, d.walgBin+":"+containerWalgBin+":ro")
	}
	return b, nil
}

// env makes psql, pg_basebackup and wal-g inside a container reach that
// container's own server over TCP loopback, which initdb's pg_hba trusts.
func (d *Docker) env() []string {
	return []string{
		"PGHOST=127.0.0.1",
		"PGPORT=" + containerPGPort,
		"PGUSER=postgres",
		"PGDATABASE=postgres",
		"PGDATA=" + containerData,
	}
}

// hbaLine is the one pg_hba.conf entry walstep adds at Init when it cannot
// use the lab's socket (not root on the host): the poller reaches the
// server through the port published on 127.0.0.1, and the connection
// arrives in the container from the network's gateway address, as does
// every other connection from the host. So the line asks for the password
// (md5, which also accepts a SCRAM one, whatever the server's
// password_encryption), and the role's password is the lab's secret from
// initdb on. It names exactly the postgres user from the gateway's /32, so
// the seed's own rules stay in force for everything else.
func hbaLine(gateway string) string {
	return fmt.Sprintf("host all postgres %s/32 md5  %s", gateway, hbaMarker)
}

// containerPwfile is where Init mounts the lab's secret for initdb.
const containerPwfile = "/walstep-pwfile"
