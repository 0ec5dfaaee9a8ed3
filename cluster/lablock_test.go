package cluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
	if os.Getenv("WALSTEP_LOCK_HELPER_DEAF") != "" {
		// A holder that does not end on SIGTERM, with a command's
		// leftover (marked as runCmd marks them) in a session of its own.
		signal.Ignore(syscall.SIGTERM)
		c := exec.Command("sleep", "300")
		c.Env = []string{markVar + "=" + strconv.Itoa(os.Getpid()) + "-test"}
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("left %d\n", c.Process.Pid)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
}

// A holder that ignores SIGTERM is killed after the bound, saying so, and
// what its commands left (marked with its pid) is ended too.
func TestForceLockKillsADeafHolderAndItsLeftovers(t *testing.T) {
	lab, err := InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "WALSTEP_LOCK_HELPER_LAB="+lab.Dir, "WALSTEP_LOCK_HELPER_DEAF=1")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	left := 0
	for sc.Scan() && sc.Text() != "locked" {
		fmt.Sscanf(sc.Text(), "left %d", &left)
	}
	if left == 0 {
		t.Fatal("the helper did not start its leftover")
	}
	t.Cleanup(func() { _ = syscall.Kill(left, syscall.SIGKILL) })
	var out bytes.Buffer
	k, err := lab.ForceLock("clean --force", 2*time.Second, &out)
	if err != nil {
		t.Fatalf("force: %v\n%s", err, out.String())
	}
	k.Release()
	t.Logf("%s", out.String())
	if !strings.Contains(out.String(), "killing it (SIGKILL)") || !strings.Contains(out.String(), fmt.Sprintf("its steps had left running: sleep (pid %d)", left)) {
		t.Errorf("ForceLock did not say it killed the holder and ended its leftover:\n%s", out.String())
	}
	if processAlive(left) {
		t.Errorf("the holder's leftover (pid %d) still runs", left)
	}
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
	k, err := lab.ForceLock("clean --force", 10*time.Second, nil)
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
