package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"walstep/untrusted"
)

// The lab's secret is made once per run/ dir, 0600 and walstep's own, and
// refused when it is a link or readable by others; opening a lab that has
// one registers it for masking.
func TestLabSecret(t *testing.T) {
	lab, err := InitLab(filepath.Join(t.TempDir(), "lab"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := lab.Secret()
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != secretLen || s == SeedPassword {
		t.Fatalf("secret %q", s)
	}
	st, err := os.Lstat(lab.SecretPath())
	if err != nil || st.Mode().Perm() != 0o600 || !st.Mode().IsRegular() {
		t.Fatalf("secret file: %v %v", st.Mode(), err)
	}
	if again, err := lab.Secret(); err != nil || again != s {
		t.Errorf("second Secret: %q %v, want the first", again, err)
	}

	// Another session of the same lab masks it before anything uses it.
	const planted = "00112233445566778899aabbccddeeff"
	if err := os.WriteFile(lab.SecretPath(), []byte(planted+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLab(lab.Dir); err != nil {
		t.Fatal(err)
	}
	if got := untrusted.MaskSecrets("conninfo ends with " + planted); strings.Contains(got, planted) {
		t.Errorf("an opened lab's secret is not masked: %q", got)
	}

	if err := os.Chmod(lab.SecretPath(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.Secret(); err == nil || !strings.Contains(err.Error(), "yours alone") {
		t.Errorf("a secret others can read: %v, want a refusal", err)
	}
	os.Remove(lab.SecretPath())
	if err := os.Symlink("/etc/hostname", lab.SecretPath()); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.Secret(); err == nil || !strings.Contains(err.Error(), "link") {
		t.Errorf("a secret that is a link: %v, want a refusal", err)
	}
}
