package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"walstep/untrusted"
)

// The seed sets the well-known password "postgres" (step 4c) and puts it in
// the replica's primary_conninfo; every TCP address of the servers accepts
// it, and anyone on the machine can reach those addresses. So what runs
// uses, in its place, a secret made for the lab: random, in run/lab-secret,
// 0600 and walstep's own user's, masked in everything walstep prints. The
// steps as shown keep the seed's text.

// SecretFile is the name, in run/, of the lab's secret.
const SecretFile = "lab-secret"

// SeedPassword is the password the seed's steps set and use.
const SeedPassword = "postgres"

// secretLen is the secret's length in hex digits (128 bits).
const secretLen = 32

// SecretPath is the host path of the lab's secret.
func (l *Lab) SecretPath() string { return l.Path(RunDir, SecretFile) }

// Secret returns the lab's secret, making it when run/ has none yet. It
// lasts as long as run/ does: step 0 removes it with the data dirs whose
// password it is.
func (l *Lab) Secret() (string, error) {
	dir := l.Path(RunDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create run dir: %w", err)
	}
	if err := checkOwnDir(dir); err != nil {
		return "", err
	}
	p := l.SecretPath()
	s, err := readSecret(p)
	if errors.Is(err, fs.ErrNotExist) {
		s, err = makeSecret(dir, p)
	}
	if err != nil {
		return "", err
	}
	untrusted.RegisterSecret(s)
	return s, nil
}

// maskSecret registers the secret of an earlier run for masking, so that
// what this session shows of its servers' files never shows it.
func (l *Lab) maskSecret() {
	if s, err := readSecret(l.SecretPath()); err == nil {
		untrusted.RegisterSecret(s)
	}
}

// makeSecret writes a new secret under a temporary name and links it into
// place, so a concurrent reader never sees a partial file and of two
// writers the first one wins.
func makeSecret(dir, p string) (string, error) {
	b := make([]byte, secretLen/2)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make the lab's secret: %w", err)
	}
	s := hex.EncodeToString(b)
	tmp := filepath.Join(dir, ".walstep-"+randHex(6)+"-"+SecretFile)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return "", fmt.Errorf("write the lab's secret: %w", err)
	}
	defer os.Remove(tmp)
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("write the lab's secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write the lab's secret: %w", err)
	}
	if err := os.Link(tmp, p); errors.Is(err, fs.ErrExist) {
		return readSecret(p)
	} else if err != nil {
		return "", fmt.Errorf("write the lab's secret: %w", err)
	}
	return s, nil
}

// readSecret reads a secret file that must be a regular file of walstep's
// own user, readable by nobody else.
func readSecret(p string) (string, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return "", fmt.Errorf("read the lab's secret: %s is a link: remove it", p)
		}
		return "", fmt.Errorf("read the lab's secret: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("read the lab's secret: %w", err)
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	switch {
	case !st.Mode().IsRegular():
		return "", fmt.Errorf("read the lab's secret: %s is not a regular file: remove it", p)
	case sys == nil || int(sys.Uid) != os.Geteuid() || st.Mode().Perm()&0o077 != 0:
		return "", fmt.Errorf("read the lab's secret: %s is not yours alone (it must be 0600 and yours): remove it, and a new one is made with the lab's next run", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, 256))
	if err != nil {
		return "", fmt.Errorf("read the lab's secret: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if _, err := hex.DecodeString(s); err != nil || len(s) != secretLen {
		return "", fmt.Errorf("read the lab's secret: %s does not hold one: remove it", p)
	}
	return s, nil
}

// checkOwnDir refuses a run/ that is a link or not walstep's own user's:
// someone else could swap the secret there.
func checkOwnDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("check run dir: %w", err)
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || sys == nil || int(sys.Uid) != os.Geteuid() || st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is not a directory only you can write to: remove it (walstep makes it again)", dir)
	}
	return nil
}
