package present

import "walstep/untrusted"

// Masked stands for a secret in a report.
const Masked = untrusted.Masked

// MaskSecrets replaces passwords, keys and tokens with Masked (see
// untrusted.MaskSecrets, which every printed output goes through).
func MaskSecrets(s string) string { return untrusted.MaskSecrets(s) }
