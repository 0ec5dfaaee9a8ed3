package untrusted

import (
	"regexp"
	"strings"
)

// Masked stands for a secret in a report.
const Masked = "********"

var (
	// password=… in a libpq conninfo, quoted or not.
	conninfoSecret = regexp.MustCompile(`(?i)\b(password|sslpassword)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']+)`)
	// user:password@ in a URL.
	urlSecret = regexp.MustCompile(`(://[^:/@\s'"]+:)[^@\s'"]+@`)
	// "SOME_SECRET": "…" in JSON, SOME_TOKEN=… in an environment, or
	// some_password = '…' in a conf: any key that names a password, a
	// secret, a token, credentials or a key (WAL-G's WALG_LIBSODIUM_KEY,
	// AWS_SECRET_ACCESS_KEY, PGPASSWORD).
	keySecret = regexp.MustCompile(`(?i)("?[A-Z0-9_.]*(PASSWORD|PASSWD|SECRET|TOKEN|_KEY|CREDENTIALS)[A-Z0-9_.]*"?\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,]+)`)
	// PASSWORD '…' in SQL (CREATE/ALTER ROLE/USER … [ENCRYPTED] PASSWORD),
	// as a string, an E'' string or dollar-quoted.
	sqlSecret = regexp.MustCompile(`(?i)(\bpassword\s+)(E?'(?:[^'\\]|\\.|'')*'|\$\$.*?\$\$)`)
	// keys named like a secret that are not one.
	notSecret = regexp.MustCompile(`(?i)^"?(password_encryption|[a-z0-9_.]*_key_path)"?\s*[:=]`)
)

// hints are what a text must contain for any rule to apply: most lines
// have none, and MaskSecrets returns them as they are.
var hints = []string{"pass", "secret", "token", "key", "credential", "://"}

// MaskSecrets replaces passwords, keys and tokens with Masked, keeping
// everything else as it is, so any output can be pasted into a public
// issue: passwords in a conninfo, a URL or SQL (password '…'), and the
// values of environment, conf and JSON keys that name a password, secret,
// token, credentials or key (WAL-G's *_KEY, *_SECRET, *_TOKEN, *_PASSWORD).
// Every output and view of walstep goes through it (see Shown).
func MaskSecrets(s string) string {
	s = maskRegistered(s)
	if !mayHoldSecret(s) {
		return s
	}
	s = conninfoSecret.ReplaceAllStringFunc(s, func(m string) string {
		sub := conninfoSecret.FindStringSubmatch(m)
		key := m[:strings.Index(m, sub[2])]
		if strings.HasPrefix(sub[2], "'") {
			return key + "'" + Masked + "'"
		}
		return key + Masked
	})
	s = urlSecret.ReplaceAllString(s, "${1}"+Masked+"@")
	s = sqlSecret.ReplaceAllString(s, "${1}'"+Masked+"'")
	s = keySecret.ReplaceAllStringFunc(s, func(m string) string {
		sub := keySecret.FindStringSubmatch(m)
		if strings.Contains(sub[3], Masked) || notSecret.MatchString(sub[1]) {
			return m // already masked above, or a setting that is no secret
		}
		switch sub[3][0] {
		case '"':
			return sub[1] + `"` + Masked + `"`
		case '\'':
			return sub[1] + "'" + Masked + "'"
		}
		return sub[1] + Masked
	})
	return s
}

func mayHoldSecret(s string) bool {
	l := strings.ToLower(s)
	for _, h := range hints {
		if strings.Contains(l, h) {
			return true
		}
	}
	return false
}

// Shown is s as any output or view of walstep may show it: without
// terminal controls (Text) and with secrets masked (MaskSecrets).
func Shown(s string) string { return MaskSecrets(Text(s)) }
