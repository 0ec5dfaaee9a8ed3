package cluster

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the exec's writer and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDockerCancelExecKillsItsProcesses: cancelling an Exec in a running
// container stops the command and its children there, those that left its
// session too (the engine itself has no call for it), so a cancelled step
// leaves nothing running.
func TestDockerCancelExecKillsItsProcesses(t *testing.T) {
	img := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := newTestDocker(t, img)
	var out bytes.Buffer
	if err := d.Init(ctx, Primary, &out); err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	if err := d.Start(ctx, Primary, &out); err != nil {
		t.Fatalf("start: %v\n%s", err, out.String())
	}
	waitAccepting(ctx, t, d, Primary)

	ectx, ecancel := context.WithCancel(ctx)
	buf := &syncBuffer{}
	done := make(chan error, 1)
	go func() { // joined below through done
		done <- d.Exec(ectx, Primary, "postgres", []string{"sh", "-c", "setsid sh -c 'sleep 7303 &' >/dev/null 2>&1; nohup sleep 7304 >/dev/null 2>&1 & echo started; sleep 7301 & sleep 7302; echo not-reached"}, buf)
	}()
	if err := Until(ctx, 30*time.Second, "the command to start", func(context.Context) (bool, error) {
		return strings.Contains(buf.String(), "\nstarted\n"), nil // a line of output, not the echoed command
	}); err != nil {
		t.Fatal(err)
	}
	ecancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Exec did not return after its context was cancelled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Exec returned %v, want context.Canceled", err)
	}
	left := execOut(ctx, t, d, Primary, "root", "sh", "-c", `for f in /proc/[0-9]*/cmdline; do { tr '\0' ' ' < "$f"; } 2>/dev/null; echo; done | grep -c 'sleep 730[1-4]' || true`)
	if strings.TrimSpace(left) != "0" {
		t.Errorf("%s processes of the cancelled command still run in the container", strings.TrimSpace(left))
	}
	if strings.Contains(buf.String(), "\nnot-reached") {
		t.Errorf("the command ran to its end: %q", buf.String())
	}
}
