package untrusted

import (
	"sort"
	"strings"
	"sync"
)

// Secrets walstep made itself (a lab's password) are masked wherever they
// appear, whatever surrounds them: a pattern can only guess at a secret by
// its key, and such a secret may be printed without one.
var registered struct {
	sync.RWMutex
	list []string
}

// minRegistered keeps a short string, which could be any word, from being
// masked everywhere.
const minRegistered = 8

// RegisterSecret makes MaskSecrets replace every occurrence of s.
func RegisterSecret(s string) {
	if len(s) < minRegistered {
		return
	}
	registered.Lock()
	defer registered.Unlock()
	for _, r := range registered.list {
		if r == s {
			return
		}
	}
	registered.list = append(registered.list, s)
	// Longest first, so a secret containing another is masked whole.
	sort.Slice(registered.list, func(i, j int) bool { return len(registered.list[i]) > len(registered.list[j]) })
}

// maskRegistered replaces the registered secrets in s with Masked.
func maskRegistered(s string) string {
	registered.RLock()
	defer registered.RUnlock()
	for _, r := range registered.list {
		if strings.Contains(s, r) {
			s = strings.ReplaceAll(s, r, Masked)
		}
	}
	return s
}
