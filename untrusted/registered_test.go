package untrusted

import (
	"strings"
	"testing"
)

// A registered secret is masked wherever it appears, with or without a
// key that names it; a short string is not registered.
func TestRegisteredSecretIsMasked(t *testing.T) {
	const s = "f00dfeedf00dfeedf00dfeedf00dfeed"
	RegisterSecret(s)
	RegisterSecret("short")
	for _, in := range []string{
		"alter user postgres encrypted password '" + s + "';",
		"psql: connection with " + s + " failed",
		"primary_conninfo = 'host=primary password=" + s + "'",
	} {
		if got := MaskSecrets(in); strings.Contains(got, s) || !strings.Contains(got, Masked) {
			t.Errorf("MaskSecrets(%q) = %q", in, got)
		}
	}
	if got := MaskSecrets("a short word"); got != "a short word" {
		t.Errorf("a short registration masks %q", got)
	}
}
