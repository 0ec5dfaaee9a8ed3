package pg

import (
	"context"
	"testing"
	"time"

	"walstep/cluster"
)

// stuckSource is a Source whose directory listings never end and ignore
// their context: a read stuck in the kernel.
type stuckSource struct {
	fakeSource
	entered chan struct{}
	release chan struct{}
}

func (s stuckSource) ReadDir(context.Context, cluster.Node, cluster.FileArea, string) ([]cluster.FileInfo, error) {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-s.release
	return nil, nil
}

// A poll stuck in a read holds neither the next poll past its context nor
// Close past a short bound: shutting down never waits on it.
func TestPollerStuckReadDoesNotBlockShutdown(t *testing.T) {
	src := stuckSource{fakeSource: fakeSource{dirs: map[cluster.Node]string{cluster.Primary: t.TempDir(), cluster.Replica: t.TempDir()}, storage: t.TempDir()},
		entered: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(src.release)
	p := NewPoller(src, PollerOptions{})
	go p.Poll(context.Background()) // stuck until the test ends
	select {
	case <-src.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the first poll never reached its read")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	s := p.Poll(ctx)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a poll behind a stuck one returned after %s", d)
	}
	if s.Nodes[0].Process != ProcUnknown || s.Nodes[0].Err == "" {
		t.Errorf("a poll that could not read says %+v", s.Nodes[0])
	}
	start = time.Now()
	p.Close()
	if d := time.Since(start); d > closeWait+5*time.Second {
		t.Errorf("Close waited %s on a stuck poll", d)
	}
}
