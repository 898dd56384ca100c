package opencx_test

import (
	"strings"
	"testing"

	"github.com/sendguard/sendguard/sync/opencx"
)

// FuzzValidEmail checks the hand-made lookaheads against their meaning:
// whatever is accepted has an '@', does not start with '.', has no "..",
// and is ASCII without spaces.
func FuzzValidEmail(f *testing.F) {
	for _, s := range []string{"a@b.co", ".a@b.co", "a..b@c.de", "a@b..co", "o'b@x.ie", "a\n@b.co", "ü@b.co"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !opencx.ValidEmail(s) {
			return
		}
		if !strings.Contains(s, "@") || strings.HasPrefix(s, ".") || strings.Contains(s, "..") ||
			strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }) {
			t.Fatalf("ValidEmail(%q) = true", s)
		}
	})
}
