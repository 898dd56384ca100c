package normalize

import (
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// TestCanonLocal_everyRune checks that canonLocal is idempotent (a key,
// normalized again, must not change) for every rune that lowercasing or
// normalization can touch: cased letters, marks, and runes with a
// decomposition, alone, after a capital, and before combining marks.
func TestCanonLocal_everyRune(t *testing.T) {
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		one := string(r)
		if !unicode.IsGraphic(r) || (unicode.ToLower(r) == r && !unicode.IsMark(r) && norm.NFD.String(one) == one) {
			continue
		}
		for _, s := range []string{string(r), "A" + string(r), string(r) + "\u0301", string(r) + "\u0345"} {
			c := canonLocal(s)
			if again := canonLocal(c); again != c {
				t.Fatalf("canonLocal(%q) = %q, then %q", s, c, again)
			}
		}
	}
}
