package opencx_test

import (
	"strings"
	"testing"

	"github.com/sendguard/sendguard/sync/opencx"
)

func TestValidEmail(t *testing.T) {
	valid := []string{
		"user@example.com",
		"User.Name@Example.COM",
		"a@b.co",
		"first.last@sub.domain.example.org",
		"o'brien@example.ie",
		"tag+news@gmail.com",
		"under_score@example.com",
		"dash-ed@ex-ample.com",
		"x-@example.com",
		"+@example.com",
		"_@example.com",
		"1234@123.example.museum",
		"a.b.c.d@e-f.gh",
		"trailing'quote.ok_@example.com",
		"name@xn--bcher-kva.example",
		"a@b-.com", // a label may end with '-': the pattern only constrains its first character
	}
	invalid := []string{
		"",
		"plain",
		"@example.com",
		".user@example.com",         // leading dot (first lookahead)
		"us..er@example.com",        // ".." (second lookahead)
		"user@example..com",         // ".." in the domain
		"user.@example.com",         // last local character must not be '.'
		"o'@example.com",            // nor an apostrophe
		"user@example",              // no dot in the domain
		"user@example.c",            // TLD of one letter
		"user@example.c0m",          // TLD with a digit
		"user@-example.com",         // label starts with '-'
		"user@.example.com",         // empty label
		"user@example.com.",         // trailing dot
		"user name@example.com",     // space
		"user@exa mple.com",         // space in domain
		"user@example.com\n",        // trailing newline ($ does not match before it)
		"user@example.com\nx@y.com", // two lines
		"ünïcode@example.com",       // non-ASCII local part
		"user@bücher.example",       // non-ASCII domain
		"user@@example.com",
		"a@b@example.com",
		"\"quoted\"@example.com",
		"user@[127.0.0.1]",
		"user@127.0.0.1",
		"<user@example.com>",
		"Name <user@example.com>",
		"user@example.com ",
		" user@example.com",
		"user@example_domain.com", // '_' not allowed in the domain
	}
	for _, s := range valid {
		if !opencx.ValidEmail(s) {
			t.Errorf("ValidEmail(%q) = false, want true", s)
		}
	}
	for _, s := range invalid {
		if opencx.ValidEmail(s) {
			t.Errorf("ValidEmail(%q) = true, want false", s)
		}
	}
	long := strings.Repeat("a", 300) + "@" + strings.Repeat("b", 300) + ".com"
	if !opencx.ValidEmail(long) {
		t.Errorf("the pattern sets no length limit, so a long address matches")
	}
}

func TestValidDomain(t *testing.T) {
	for _, d := range []string{"example.com", "Sub.Example.ORG", "xn--bcher-kva.example", "a-b.c-d.io", "1.2.3.io"} {
		if !opencx.ValidDomain(d) {
			t.Errorf("ValidDomain(%q) = false", d)
		}
	}
	for _, d := range []string{"", "com", "*.example.com", "@example.com", "a,b.com", "a b.com", "-a.com", "a-.com", "a..com", ".a.com", "a.com.", strings.Repeat("a", 64) + ".com", "bücher.de", "1.2.3.4"} {
		if opencx.ValidDomain(d) {
			t.Errorf("ValidDomain(%q) = true", d)
		}
	}
}
