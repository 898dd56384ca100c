package opencxtest

import (
	"strings"
	"testing"

	"github.com/sendguard/sendguard/sync/opencx"
)

// emailTable is what OpenCX's documented pattern says of each address; the
// fake's check and the client's must both agree with it.
var emailTable = []struct {
	email string
	ok    bool
}{
	{"user@example.com", true},
	{"User.Name@Example.COM", true},
	{"a@b.co", true},
	{"first.last@sub.domain.example.org", true},
	{"o'brien@example.ie", true},
	{"tag+news@gmail.com", true},
	{"under_score@example.com", true},
	{"dash-ed@ex-ample.com", true},
	{"x-@example.com", true},
	{"+@example.com", true},
	{"_@example.com", true},
	{"-@example.com", true},
	{"1234@123.example.museum", true},
	{"a.b.c.d@e-f.gh", true},
	{"trailing'quote.ok_@example.com", true},
	{"name@xn--bcher-kva.example", true},
	{"a@b-.com", true},   // only a label's first character is constrained
	{"a@1.co", true},     // a label may be all digits
	{"a'b'c@d.ef", true}, // apostrophes inside the local part
	{strings.Repeat("a", 300) + "@" + strings.Repeat("b", 300) + ".com", true}, // no length limit

	{"", false},
	{"plain", false},
	{"@example.com", false},
	{".user@example.com", false},  // (?!\.)
	{"us..er@example.com", false}, // (?!.*\.\.)
	{"user@example..com", false},
	{"user.@example.com", false}, // last local character
	{"o'@example.com", false},
	{"'@example.com", false},
	{".@example.com", false},
	{"user@example", false},
	{"user@example.c", false},   // TLD of one letter
	{"user@example.c0m", false}, // TLD with a digit
	{"user@example.co-m", false},
	{"user@-example.com", false},
	{"user@.example.com", false},
	{"user@example.com.", false},
	{"user name@example.com", false},
	{"user@exa mple.com", false},
	{"user@example.com\n", false},
	{"user@example.com\nx@y.com", false},
	{"ünïcode@example.com", false},
	{"user@bücher.example", false},
	{"user@@example.com", false},
	{"a@b@example.com", false},
	{"\"quoted\"@example.com", false},
	{"user@[127.0.0.1]", false},
	{"user@127.0.0.1", false},
	{"<user@example.com>", false},
	{"Name <user@example.com>", false},
	{"user@example.com ", false},
	{" user@example.com", false},
	{"user@example_domain.com", false},
	{"user@example.com\u2028", false},
}

func TestValidEmail_SharedTable(t *testing.T) {
	for _, c := range emailTable {
		if got := validEmail(c.email); got != c.ok {
			t.Errorf("fake: validEmail(%q) = %v, want %v", c.email, got, c.ok)
		}
		if got := opencx.ValidEmail(c.email); got != c.ok {
			t.Errorf("client: opencx.ValidEmail(%q) = %v, want %v", c.email, got, c.ok)
		}
	}
	if emailPattern != opencx.EmailPattern {
		t.Errorf("the fake and the client quote different patterns:\n%s\n%s", emailPattern, opencx.EmailPattern)
	}
}

// FuzzValidEmail_Agree: the fake's reading of the documented pattern and
// the client's never differ.
func FuzzValidEmail_Agree(f *testing.F) {
	for _, c := range emailTable {
		f.Add(c.email)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if fake, client := validEmail(s), opencx.ValidEmail(s); fake != client {
			t.Fatalf("%q: fake %v, client %v", s, fake, client)
		}
	})
}

func TestValidDomain(t *testing.T) {
	for _, d := range []string{"example.com", "sub.example.org", "xn--bcher-kva.example", "a-b.c-d.io", "1.2.3.io"} {
		if !validDomain(d) {
			t.Errorf("validDomain(%q) = false", d)
		}
		if !opencx.ValidDomain(d) {
			t.Errorf("client refuses %q, which the fake takes", d)
		}
	}
	for _, d := range []string{"", "com", "*.example.com", "@example.com", "a,b.com", "a b.com", "-a.com", "a-.com",
		"a..com", ".a.com", "a.com.", strings.Repeat("a", 64) + ".com", "bücher.de", "1.2.3.4", "a_b.com"} {
		if validDomain(d) {
			t.Errorf("validDomain(%q) = true", d)
		}
	}
}
