package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLockHelperProcess is not a test: run by TestForceLockEndsTheHolder
// as another walstep process that holds a lab and waits.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv("WALSTEP_LOCK_HELPER_LAB")
	if dir == "" {
		t.Skip("helper process")
	}
	lab, err := OpenLab(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lab.Lock("run"); err != nil {
		t.Fatal(err)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
}

func TestLabLockOneHolderAndForce(t *testing.T) {
	lab, err := InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "WALSTEP_LOCK_HELPER_LAB="+lab.Dir)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	buf := make([]byte, 256)
	var seen string
	for !strings.Contains(seen, "locked") {
		n, err := stdout.Read(buf)
		if err != nil {
			t.Fatalf("helper ended before it locked: %v %q", err, seen)
		}
		seen += string(buf[:n])
	}

	_, err = lab.Lock("clean")
	want := fmt.Sprintf("lab in use by walstep pid %d (run) since ", cmd.Process.Pid)
	if !errors.Is(err, ErrLabInUse) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "walstep clean --force") {
		t.Fatalf("second lock: %v, want %q", err, want)
	}
	k, err := lab.ForceLock("clean --force", 10*time.Second)
	if err != nil {
		t.Fatalf("force: %v", err)
	}
	defer k.Release()
	if err := cmd.Wait(); err == nil {
		t.Error("the holder was not ended")
	}
	if h := lab.Holder(); h.PID != os.Getpid() || h.Command != "clean --force" {
		t.Errorf("lock file after force: %+v", h)
	}
	// A released lock can be taken again; a held one cannot, even in the
	// same process (flock belongs to the open file).
	if _, err := lab.Lock("x"); !errors.Is(err, ErrLabInUse) {
		t.Errorf("second lock in one process: %v", err)
	}
	k.Release()
	k2, err := lab.Lock("x")
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	k2.Release()
}

// The lab's replica_standby.conf holds a password: only its owner reads it.
func TestInitLabStandbyConfIsPrivate(t *testing.T) {
	lab, err := InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(lab.Path(ReplicaStandby))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("replica_standby.conf mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
}
