package normalize

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// randomAddress builds address-like strings from pieces that sit on the
// edges of the fast path's rules: case, dots, '+', hyphens, digits-only
// and A-label ("xn--") labels, non-ASCII, over-long parts.
func randomAddress(r *rand.Rand) (addr, domain string) {
	pieces := []string{"a", "z", "ann", "0", "9", "A", "Z", ".", "..", "+", "+tag", "-", "_", "~", "!", "é", "ß", " ", "\"", "(", "[", "@"}
	labels := []string{"example", "com", "xn--bcher-kva", "ab--c", "a-b", "-a", "a-", "1", "123", "EXAMPLE", "b\u00fccher", "", "gmail", "googlemail", "outlook", "me", "x", strings.Repeat("l", 63), strings.Repeat("m", 64)}
	var b strings.Builder
	for range 1 + r.IntN(6) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	if r.IntN(20) == 0 {
		b.WriteString(strings.Repeat("q", 60))
	}
	var d strings.Builder
	for i := range 1 + r.IntN(4) {
		if i > 0 || r.IntN(30) == 0 {
			d.WriteByte('.')
		}
		d.WriteString(labels[r.IntN(len(labels))])
	}
	if r.IntN(30) == 0 {
		d.WriteByte('.')
	}
	return b.String() + "@" + d.String(), d.String()
}

// TestCanonicalEmail_matchesFullPath: whatever the fast path accepts, the
// full path returns unchanged, with provider folding off and on; and
// fastDomain is exactly scanDomain's ("", true).
func TestCanonicalEmail_matchesFullPath(t *testing.T) {
	plain, err := New()
	if err != nil {
		t.Fatal(err)
	}
	folding, err := New(WithProviderFolding(true))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 11))
	fast := 0
	for range 300_000 {
		addr, domain := randomAddress(r)
		for _, n := range []*Normalizer{plain, folding} {
			if !n.canonicalEmail(addr) {
				continue
			}
			fast++
			if v, reason := n.emailSlow(addr); reason != "" || v != addr {
				t.Fatalf("folding=%v: fast path accepts %q, full path gives %q, %q", n.folding, addr, v, reason)
			}
		}
		reason, scanFast := scanDomain(domain)
		if got, want := fastDomain(domain), reason == "" && scanFast; got != want {
			t.Fatalf("fastDomain(%q) = %v, scanDomain says %v (%q)", domain, got, want, reason)
		}
	}
	if fast < 10_000 {
		t.Fatalf("only %d generated addresses took the fast path: the generator is too narrow", fast)
	}
	for _, s := range []string{"ann.lee@example.com", "a+b@mail.example.co.uk", "o'neil@example.org", "1@123.example"} {
		if !plain.canonicalEmail(s) {
			t.Errorf("canonical %q missed the fast path", s)
		}
	}
	for _, s := range []string{"Ann@example.com", ".a@example.com", "a.@example.com", "a..b@example.com", "a@example.123", "a@xn--bcher-kva.example", "a@example", "@example.com", "a@-x.com"} {
		if plain.canonicalEmail(s) {
			t.Errorf("%q took the fast path", s)
		}
	}
	for _, s := range []string{"a.b@gmail.com", "ab+x@gmail.com", "ab@googlemail.com", "a+b@outlook.com"} {
		if folding.canonicalEmail(s) {
			t.Errorf("folding: %q took the fast path", s)
		}
	}
}
