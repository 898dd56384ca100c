package normalize_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sendguard/sendguard/normalize"
)

// newNormalizer returns a Normalizer built with opts or fails the test.
func newNormalizer(t testing.TB, opts ...normalize.Option) *normalize.Normalizer {
	t.Helper()
	n, err := normalize.New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n
}

// equivClass is a set of raw inputs that must all give one key.
type equivClass struct {
	name  string
	want  string // canonical value
	forms []string
}

// emailClasses hold without provider folding (the default).
var emailClasses = []equivClass{
	{"plain", "ann@example.com", []string{
		"ann@example.com", "Ann@Example.com", "ANN@EXAMPLE.COM", "  ann@example.com\t",
		"<ann@example.com>", "Ann Smith <ann@example.com>", `"Smith, Ann" <Ann@Example.COM>`,
		"ann@example.com (Ann Smith)", `"ann"@example.com`, "ann@example.com.", "ann@EXAMPLE.com.",
		"=?utf-8?q?Ann_Sm=C3=BCth?= <ann@example.com>", "ann@ｅｘａｍｐｌｅ.com", "ann@example。com",
	}},
	{"mailto", "bob@example.org", []string{
		"mailto:bob@example.org", "MAILTO:Bob@Example.org", "mailto:bob@example.org?subject=Hello%20there",
		"mailto:bob%40example.org", "mailto:%62ob@example.org", "Mailto:bob@example.org#frag",
		"mailto:bob@example.org?cc=carol@example.org",
	}},
	{"plus kept without folding", "ann+news@example.com", []string{"ann+news@example.com", "Ann+News@Example.com", "<ann+news@example.com>"}},
	{"dots kept without folding", "a.n.n@example.com", []string{"a.n.n@example.com", "A.N.N@example.com"}},
	{"gmail unfolded", "john.smith+news@gmail.com", []string{"john.smith+news@gmail.com", "John.Smith+News@Gmail.com", "John <john.smith+news@gmail.com>"}},
	{"googlemail unfolded", "john.smith@googlemail.com", []string{"john.smith@googlemail.com", "JOHN.SMITH@GOOGLEMAIL.COM"}},
	{"hyphen and underscore", "mary-jane_doe@example.co.uk", []string{"mary-jane_doe@example.co.uk", "Mary-Jane_Doe@Example.Co.UK"}},
	{"apostrophe", "o'brien@example.ie", []string{"o'brien@example.ie", "O'Brien@example.ie", `"O'Brien" <O'Brien@Example.IE>`}},
	{"digits only local", "12345@example.net", []string{"12345@example.net", "<12345@EXAMPLE.NET>"}},
	{"all atext specials", "!#$%&'*+-/=?^_`{|}~@example.com", []string{"!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~@EXAMPLE.COM"}},
	{"subdomain", "ops@mail.eu.example.com", []string{"ops@mail.eu.example.com", "OPS@Mail.EU.Example.Com", "ops@mail.eu.example.com."}},
	{"numeric labels", "x@123.example.com", []string{"x@123.example.com", "X@123.Example.COM"}},
	{"digit-start domain", "user@163.com", []string{"user@163.com", "USER@163.COM", "User <user@163.com>"}},
	{"hyphenated domain", "info@my-shop.example", []string{"info@my-shop.example", "Info@My-Shop.Example"}},
	{"long tld", "hello@example.photography", []string{"hello@example.photography", "Hello@Example.Photography"}},
	{"punycode domain as given", "jurgen@xn--bcher-kva.de", []string{"jurgen@xn--bcher-kva.de", "Jurgen@XN--BCHER-KVA.DE", "jurgen@bücher.de", "JURGEN@BÜCHER.DE"}},
	{"unicode local and domain", "jürgen@xn--bcher-kva.de", []string{
		"jürgen@bücher.de", "Jürgen@Bücher.de", "JÜRGEN@BÜCHER.DE", "ju\u0308rgen@bu\u0308cher.de",
		"Jürgen <jürgen@bücher.de>", "jürgen@xn--bcher-kva.de", "mailto:j%C3%BCrgen@b%C3%BCcher.de",
	}},
	{"chinese", "用户@xn--fsqu00a.xn--4rr70v", []string{"用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v", "<用户@例子.广告>"}},
	{"greek", "αννα@xn--hxajbheg2az3al.xn--jxalpdlp", []string{"ΑΝΝΑ@παράδειγμα.δοκιμή", "αννα@παράδειγμα.δοκιμή", "Άννα <ΑΝΝΑ@ΠΑΡΆΔΕΙΓΜΑ.ΔΟΚΙΜΉ>"}},
	{"cyrillic", "иван@xn--e1afmkfd.xn--p1ai", []string{"Иван@пример.рф", "ИВАН@ПРИМЕР.РФ", "иван@xn--e1afmkfd.xn--p1ai"}},
	{"german sharp s kept", "straße@example.de", []string{"straße@example.de", "Straße@Example.de"}},
	{"sharp s domain non-transitional", "a@xn--strae-oqa.de", []string{"a@straße.de", "A@STRAßE.DE"}},
	{"japanese local", "テスト@example.jp", []string{"テスト@example.jp", "テスト@EXAMPLE.JP"}},
	{"emoji-free symbols", "a~b@example.com", []string{"a~b@example.com", "A~B@example.com"}},
	{"percent in local", "a%b@example.com", []string{"a%b@example.com", "mailto:a%25b@example.com"}},
	{"slash and equals", "a/b=c@example.com", []string{"a/b=c@example.com", "A/B=C@Example.com"}},
	{"quoted dot-atom", "ann.lee@example.com", []string{`"ann.lee"@example.com`, "ann.lee@example.com", "Ann Lee <Ann.Lee@example.com>"}},
	{"comment forms", "carol@example.com", []string{"carol@example.com (work)", "carol@example.com(work)", "Carol <carol@example.com> (work)"}},
	{"outlook unfolded", "ann+shop@outlook.com", []string{"ann+shop@outlook.com", "Ann+Shop@Outlook.com"}},
	{"yahoo dash", "ann-shop@yahoo.com", []string{"ann-shop@yahoo.com", "Ann-Shop@Yahoo.com"}},
	{"icloud", "a.b@icloud.com", []string{"a.b@icloud.com", "A.B@iCloud.com"}},
	{"single-letter labels", "a@b.co", []string{"a@b.co", "A@B.CO", "a@b.co."}},
	{"max local 64", strings.Repeat("a", 64) + "@example.com", []string{strings.Repeat("a", 64) + "@example.com", strings.Repeat("A", 64) + "@example.com"}},
	{"max label 63", "a@" + strings.Repeat("b", 63) + ".com", []string{"a@" + strings.Repeat("b", 63) + ".com", "a@" + strings.Repeat("B", 63) + ".COM"}},
	{"tab-separated display name", "dan@example.com", []string{"Dan\t<dan@example.com>", "Dan  Brown <dan@example.com>"}},
	{"korean domain", "user@xn--9n2bp8q.xn--9t4b11yi5a", []string{"user@실례.테스트", "USER@실례.테스트"}},
	{"arabic domain", "info@xn--mgbh0fb.xn--kgbechtv", []string{"info@مثال.إختبار", "INFO@مثال.إختبار"}},
	{"fullwidth at domain only", "zed@example.net", []string{"zed@ｅｘａｍｐｌｅ．ｎｅｔ", "Zed@EXAMPLE.NET"}},
	{"turkish capital dotted I (simple case mapping)", "istanbul@example.com", []string{"İstanbul@example.com", "istanbul@example.com", "ISTANBUL@example.com"}},
	{"angstrom sign", "åsa@example.se", []string{"Åsa@example.se", "\u212bsa@example.se", "A\u030asa@example.se", "åsa@example.se"}},
	{"trailing dot in display form", "eve@example.com", []string{"Eve <Eve@Example.Com>", "eve@Example.Com."}},
	{"uppercase tld only", "frank@example.io", []string{"frank@example.IO", "frank@EXAMPLE.io"}},
}

func TestNormalizer_Email_classes(t *testing.T) {
	if len(emailClasses) < 40 {
		t.Fatalf("only %d email classes", len(emailClasses))
	}
	n := newNormalizer(t)
	seen := map[string]string{}
	for _, c := range emailClasses {
		if prev, dup := seen[c.want]; dup {
			t.Errorf("classes %q and %q share key %q", prev, c.name, c.want)
		}
		seen[c.want] = c.name
		t.Run(c.name, func(t *testing.T) {
			for _, raw := range c.forms {
				got, err := n.Email(raw)
				if err != nil {
					t.Errorf("Email(%q): %v", raw, err)
					continue
				}
				if got.Kind != normalize.Email || got.Value != c.want {
					t.Errorf("Email(%q) = %v %q, want email %q", raw, got.Kind, got.Value, c.want)
				}
				// Parse must agree with Email for every form.
				if p, err := n.Parse(raw); err != nil || p != got {
					t.Errorf("Parse(%q) = %v, %v; want %v", raw, p, err, got)
				}
			}
		})
	}
}

// rejected is an input that must fail, and a word of the reason it must give.
type rejected struct {
	raw    string
	reason string // substring of InvalidError.Reason
}

var emailRejects = []rejected{
	{"", "empty input"},
	{"   ", "empty input"},
	{"ann", "missing @"},
	{"@example.com", "empty local part"},
	{"ann@", "empty domain"},
	{"ann@localhost", "no dot"},
	{"ann@[192.0.2.1]", "IP-literal"},
	{"ann@[IPv6:2001:db8::1]", "IP-literal"},
	{"ann@192.0.2.1", "numeric top-level domain"},
	{"a@b@example.com", "more than one '@'"},
	{"ann@example.com, bob@example.com", "several addresses"},
	{"ann@example.com bob@example.com", "several addresses"},
	{"Ann <ann@example.com>, Bob <bob@example.com>", "several addresses"},
	{"ann@example.com;bob@example.com", "several addresses"},
	{"ann@example.com\r\nBcc: eve@example.com", "line break"},
	{"ann\n@example.com", "line break"},
	{strings.Repeat("a", 65) + "@example.com", "local part longer than 64"},
	{"a@" + strings.Repeat("b", 64) + ".com", "label longer than 63"},
	{"a@" + strings.Repeat(strings.Repeat("b", 50)+".", 5) + "com", "domain longer than 253"},
	{strings.Repeat("a", 64) + "@" + strings.Repeat(strings.Repeat("b", 60)+".", 3) + "abcdefg", "address longer than 254"},
	{"ann..lee@example.com", "double dot"},
	{".ann@example.com", "leading, trailing or double dot"},
	{"ann.@example.com", "leading, trailing or double dot"},
	{"ann@-example.com", "invalid domain name"},
	{"ann@example-.com", "invalid domain name"},
	{"ann@exa_mple.com", "invalid domain name"},
	{"ann@ab--cd.com", "invalid domain name"},
	{"ann@xn--abc.com", "invalid domain name"},
	{"ann@example..com", "empty label"},
	{"ann@.example.com", "empty label"},
	{"ann@example.com..", "empty label"},
	{`"ann smith"@example.com`, "needs quoting"},
	{`"ann@home"@example.com`, "more than one '@'"},
	{"ann\xff@example.com", "not valid UTF-8"},
	{"ann\u200b@example.com", "not allowed"},
	{"ann\u00a0lee@example.com", "not allowed"},
	{"Ann <ann@[192.0.2.1]>", "IP-literal"},
	{"mailto:", "no address"},
	{"mailto:?to=ann@example.com", "no address"},
	{"mailto:ann@example.com,bob@example.com", "several addresses"},
	{"mailto:%zzann@example.com", "bad percent-encoding"},
	{"mailto:Ann%20%3Cann@example.com%3E", "not a plain address"},
	{"mailto:ann%0D%0A@example.com", "not a plain address"},
	{"Ann <ann@example.com", "malformed address"},
	{"ann@exa mple.com", "malformed address"},
	{strings.Repeat("a", 1020) + "@example.com", "longer than 1024 bytes"},
}

func TestNormalizer_Email_rejects(t *testing.T) {
	for _, folding := range []bool{false, true} {
		n := newNormalizer(t, normalize.WithProviderFolding(folding))
		checkRejects(t, n.Email, normalize.Email, emailRejects)
	}
}

// checkRejects asserts that read rejects each input with an *InvalidError
// of kind k whose reason mentions the expected words.
func checkRejects(t *testing.T, read func(string) (normalize.Contact, error), k normalize.Kind, rs []rejected) {
	t.Helper()
	for _, r := range rs {
		t.Run(r.reason, func(t *testing.T) {
			c, err := read(r.raw)
			if err == nil {
				t.Fatalf("%v %q accepted as %q, want an error about %q", k, r.raw, c.Value, r.reason)
			}
			checkInvalid(t, err, r.raw, k, r.reason)
		})
	}
}

// checkInvalid asserts that err is an *InvalidError for raw, kind k, with a
// reason containing reason, matching ErrInvalid.
func checkInvalid(t *testing.T, err error, raw string, k normalize.Kind, reason string) {
	t.Helper()
	if !errors.Is(err, normalize.ErrInvalid) {
		t.Errorf("%q: error %v does not match ErrInvalid", raw, err)
	}
	var ie *normalize.InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("%q: error %T is not *InvalidError", raw, err)
	}
	wantInput := raw
	if len(wantInput) > normalize.MaxInputLen {
		wantInput = wantInput[:normalize.MaxInputLen]
	}
	if ie.Input != wantInput {
		t.Errorf("%q: InvalidError.Input = %q", raw, ie.Input)
	}
	if ie.Kind != k {
		t.Errorf("%q: InvalidError.Kind = %v, want %v", raw, ie.Kind, k)
	}
	if !strings.Contains(ie.Reason, reason) {
		t.Errorf("%q: reason %q does not mention %q", raw, ie.Reason, reason)
	}
	if !strings.HasPrefix(err.Error(), "normalize: ") {
		t.Errorf("%q: error text %q lacks the package prefix", raw, err.Error())
	}
}

// foldingCases: raw -> want with folding on, and want with folding off.
var foldingCases = []struct {
	raw, on, off string
}{
	// Gmail: dots and +tag; googlemail.com is gmail.com.
	{"john.smith+news@gmail.com", "johnsmith@gmail.com", "john.smith+news@gmail.com"},
	{"JohnSmith@googlemail.com", "johnsmith@gmail.com", "johnsmith@googlemail.com"},
	{"j.o.h.n.s.m.i.t.h@gmail.com", "johnsmith@gmail.com", "j.o.h.n.s.m.i.t.h@gmail.com"},
	{"John Smith <john.smith+a+b@GMAIL.COM>", "johnsmith@gmail.com", "john.smith+a+b@gmail.com"},
	{"johnsmith@gmail.com", "johnsmith@gmail.com", "johnsmith@gmail.com"},
	// Outlook.com: +tag only, dots matter.
	{"ann.lee+shop@outlook.com", "ann.lee@outlook.com", "ann.lee+shop@outlook.com"},
	{"ann+x@hotmail.com", "ann@hotmail.com", "ann+x@hotmail.com"},
	{"ann+x@hotmail.co.uk", "ann@hotmail.co.uk", "ann+x@hotmail.co.uk"},
	{"ann+x@live.com", "ann@live.com", "ann+x@live.com"},
	{"ann+x@msn.com", "ann@msn.com", "ann+x@msn.com"},
	// iCloud, Fastmail, Proton: +tag.
	{"ann+x@icloud.com", "ann@icloud.com", "ann+x@icloud.com"},
	{"ann+x@me.com", "ann@me.com", "ann+x@me.com"},
	{"ann+x@mac.com", "ann@mac.com", "ann+x@mac.com"},
	{"ann+x@fastmail.com", "ann@fastmail.com", "ann+x@fastmail.com"},
	{"ann+x@fastmail.fm", "ann@fastmail.fm", "ann+x@fastmail.fm"},
	{"ann+x@proton.me", "ann@proton.me", "ann+x@proton.me"},
	{"ann+x@protonmail.com", "ann@protonmail.com", "ann+x@protonmail.com"},
	{"ann+x@pm.me", "ann@pm.me", "ann+x@pm.me"},
	{"a.n.n+x@proton.me", "a.n.n@proton.me", "a.n.n+x@proton.me"},
	// Not folded: Yahoo (see doc.go), other domains, subdomains of providers.
	{"ann-shop@yahoo.com", "ann-shop@yahoo.com", "ann-shop@yahoo.com"},
	{"ann+shop@yahoo.com", "ann+shop@yahoo.com", "ann+shop@yahoo.com"},
	{"ann+x@example.com", "ann+x@example.com", "ann+x@example.com"},
	{"a.n.n+x@mail.gmail.com", "a.n.n+x@mail.gmail.com", "a.n.n+x@mail.gmail.com"},
	{"ann+x@outlook.co.jp", "ann+x@outlook.co.jp", "ann+x@outlook.co.jp"},
	{"ann+x@fastmail.co.uk", "ann+x@fastmail.co.uk", "ann+x@fastmail.co.uk"},
}

func TestNormalizer_Email_providerFolding(t *testing.T) {
	on := newNormalizer(t, normalize.WithProviderFolding(true))
	off := newNormalizer(t)
	if !on.ProviderFolding() || off.ProviderFolding() {
		t.Fatalf("ProviderFolding() = %v/%v, want true/false", on.ProviderFolding(), off.ProviderFolding())
	}
	for _, c := range foldingCases {
		t.Run(c.raw, func(t *testing.T) {
			for _, x := range []struct {
				n    *normalize.Normalizer
				want string
			}{{on, c.on}, {off, c.off}} {
				got, err := x.n.Email(c.raw)
				if err != nil || got.Value != x.want {
					t.Errorf("folding=%v: Email(%q) = %q, %v; want %q", x.n.ProviderFolding(), c.raw, got.Value, err, x.want)
				}
			}
		})
	}
	checkRejects(t, on.Email, normalize.Email, []rejected{
		{"+news@gmail.com", "empty local part after provider folding"},
		{"...@gmail.com", "leading, trailing or double dot"},
		{"ann.+x@outlook.com", "not valid after provider folding"},
		{"+x@icloud.com", "empty local part after provider folding"},
	})
}

// TestNormalizer_Email_fastPathMatchesFullPath generates addresses, some
// canonical and many not, and checks that whenever the fast path takes one
// the full path returns it unchanged, with folding on and off.
func TestNormalizer_Email_fastPathMatchesFullPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	locals := []string{"a", "ann", "ann.lee", "a.b.c", "x+tag", "ann+", "o'brien", "1", "a..b", ".a", "a.", "A", "Ann", "a_b-c", "z~", "%", "ü", "a b", strings.Repeat("q", 64), strings.Repeat("q", 65), "+x", "a.+b"}
	domains := []string{"example.com", "gmail.com", "googlemail.com", "outlook.com", "yahoo.com", "proton.me", "ab--cd.com", "xn--bcher-kva.de", "xn--abc.com", "a.b", "a-b.c-d", "-a.com", "a-.com", "1.2.3.4", "123.com", "example.c0m", "localhost", "EXAMPLE.com", "example.com.", "a" + strings.Repeat(".b", 130), strings.Repeat("c", 63) + ".io", strings.Repeat("c", 64) + ".io", "a_b.com", "bücher.de"}
	for _, folding := range []bool{false, true} {
		n := newNormalizer(t, normalize.WithProviderFolding(folding))
		fast := 0
		for range 20000 {
			l := locals[rng.IntN(len(locals))]
			d := domains[rng.IntN(len(domains))]
			if rng.IntN(4) == 0 {
				l += locals[rng.IntN(len(locals))]
			}
			s := l + "@" + d
			if !n.FastEmail(s) {
				continue
			}
			fast++
			v, reason := n.SlowEmail(s)
			if reason != "" || v != s {
				t.Fatalf("folding=%v: fast path took %q but the full path gives %q, %q", folding, s, v, reason)
			}
		}
		if fast < 2000 {
			t.Errorf("folding=%v: only %d generated addresses took the fast path", folding, fast)
		}
	}
}

// Issue 13: net/mail's grammar terms do not reach the reasons.
func TestEmailReasonsInPlainWords(t *testing.T) {
	n := newNormalizer(t)
	for _, raw := range []string{"Ann <ann@example.com", "Ann Lee", "Ann <>", "ann@exa mple.com", "ann..lee@example.com", "\"\"@example.com", "<ann@>", "Ann (x <ann@example.com>"} {
		_, err := n.Email(raw)
		var ie *normalize.InvalidError
		if !errors.As(err, &ie) {
			t.Fatalf("%q: err %v, want an InvalidError", raw, err)
		}
		for _, term := range []string{"angle-addr", "addr-spec", "atom", "mail:"} {
			if strings.Contains(ie.Reason, term) {
				t.Errorf("%q: reason %q says %q", raw, ie.Reason, term)
			}
		}
	}
}
