package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// engineProxy forwards a unix socket to the real Docker engine until cut,
// so a test can make the engine vanish in the middle of a run without
// stopping the machine's dockerd.
type engineProxy struct {
	ln    net.Listener
	real  string
	mu    sync.Mutex
	conns []net.Conn
	cut   bool
	wg    sync.WaitGroup
}

func startEngineProxy(t *testing.T, realHost string) *engineProxy {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	p := &engineProxy{ln: ln, real: strings.TrimPrefix(realHost, "unix://")}
	p.wg.Add(1)
	go p.serve() // joined in Cleanup through wg
	t.Cleanup(func() { p.Cut(); p.wg.Wait() })
	return p
}

func (p *engineProxy) Host() string { return "unix://" + p.ln.Addr().String() }

func (p *engineProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("unix", p.real)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			up.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(up, c); up.Close() }()
		go func() { defer p.wg.Done(); _, _ = io.Copy(c, up); c.Close() }()
	}
}

// Cut closes the socket and every connection through it: the engine is gone.
func (p *engineProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return
	}
	p.cut = true
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
}

// cutWriter cuts the proxy when a progress line contains marker.
type cutWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	p      *engineProxy
}

func (w *cutWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	if strings.Contains(w.buf.String(), w.marker) {
		w.p.Cut()
	}
	return len(b), nil
}

func (w *cutWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestE2EDockerEngineStopsMidRun: the engine disappears while the primary
// runs (step 4c); the run must end with a failed step and one clear line,
// not hang or print a stack trace.
func TestE2EDockerEngineStopsMidRun(t *testing.T) {
	img := requireDockerE2E(t)
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	realHost := cli.DaemonHost()
	cli.Close()
	if !strings.HasPrefix(realHost, "unix://") {
		t.Skip("engine proxy needs a unix-socket engine, have " + realHost)
	}
	p := startEngineProxy(t, realHost)
	lab, flags := dockerLab(t, img) // its cleanup uses the real engine again
	t.Cleanup(func() { os.Setenv("DOCKER_HOST", realHost) })
	t.Setenv("DOCKER_HOST", p.Host())

	out := &cutWriter{marker: "4c   Grant replication", p: p}
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- realMain(append([]string{"run", "--wait", "20s"}, flags...), out, &errb) }()
	var code int
	select {
	case code = <-done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("run hung after the engine went away; output:\n%s", out.String())
	}
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a step failed); output:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	all := out.String() + errb.String()
	if !strings.Contains(all, ": failed in") || !strings.Contains(strings.ToLower(all), "docker") {
		t.Errorf("want a failed step that names Docker:\n%s", all)
	}
	if strings.Contains(all, "goroutine ") || strings.Contains(all, "panic:") {
		t.Errorf("stack trace:\n%s", all)
	}
	t.Logf("lab %s, output after the cut:\n%s", lab, all[strings.Index(all, "4c "):])
	// Back on the real engine, dockerLab's cleanup runs walstep clean and
	// asserts nothing with the lab's label is left.
}

// TestE2EDockerSIGTERMDuringBackup: SIGTERM while the backup runs in the
// primary's container stops walstep without a stack trace and leaves no
// container or network of the lab (the user did not ask to keep them).
func TestE2EDockerSIGTERMDuringBackup(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	bin := buildWalstep(t)
	lab, flags := dockerLab(t, img)
	signalAt(t, bin, append([]string{"run"}, flags...), "4d   Take the base backup ...")
	assertNoDockerLeft(t, lab)
}
