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
	// "SOME_SECRET": "…" in JSON, or some_password = '…' in a conf.
	keySecret = regexp.MustCompile(`(?i)("?[A-Z0-9_.]*(PASSWORD|PASSWD|SECRET|TOKEN|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS)[A-Z0-9_.]*"?\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,]+)`)
)

// MaskSecrets replaces passwords, keys and tokens in a conf or JSON text
// with Masked, keeping everything else as it is, so a report can be pasted
// into a public issue.
func MaskSecrets(s string) string {
	s = conninfoSecret.ReplaceAllStringFunc(s, func(m string) string {
		sub := conninfoSecret.FindStringSubmatch(m)
		key := m[:strings.Index(m, sub[2])]
		if strings.HasPrefix(sub[2], "'") {
			return key + "'" + Masked + "'"
		}
		return key + Masked
	})
	s = urlSecret.ReplaceAllString(s, "${1}"+Masked+"@")
	s = keySecret.ReplaceAllStringFunc(s, func(m string) string {
		sub := keySecret.FindStringSubmatch(m)
		if strings.Contains(sub[3], Masked) {
			return m // a conninfo already masked above
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
