package normalize_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sendguard/sendguard/normalize"
)

func TestNew_options(t *testing.T) {
	n := newNormalizer(t)
	if n.Region() != "US" || n.ProviderFolding() {
		t.Errorf("defaults: region %q folding %v, want US false", n.Region(), n.ProviderFolding())
	}
	n = newNormalizer(t, normalize.WithRegion(" gb "), normalize.WithProviderFolding(true), nil)
	if n.Region() != "GB" || !n.ProviderFolding() {
		t.Errorf("region %q folding %v, want GB true", n.Region(), n.ProviderFolding())
	}
	for _, bad := range []normalize.Option{
		normalize.WithRegion("XX"),
		normalize.WithRegion(""),
		normalize.WithRegion("001"),
		normalize.WithRegion("ZZ"),
		normalize.WithMemoSize(-1),
	} {
		if n, err := normalize.New(bad); err == nil || n != nil {
			t.Errorf("New accepted a bad option: %v, %v", n, err)
		} else if !strings.HasPrefix(err.Error(), "normalize: ") {
			t.Errorf("error %q lacks the package prefix", err)
		}
	}
}

func TestNormalizer_Domain(t *testing.T) {
	n := newNormalizer(t)
	classes := []equivClass{
		{"plain", "example.com", []string{"example.com", "EXAMPLE.COM", "@example.com", "*.example.com", "example.com.", "@Example.Com.", "  *.Example.com "}},
		{"idn", "xn--bcher-kva.de", []string{"bücher.de", "BÜCHER.DE", "@bücher.de", "*.bücher.de", "xn--bcher-kva.de"}},
		{"subdomain", "mail.example.co.uk", []string{"mail.example.co.uk", "*.mail.example.co.uk", "@MAIL.EXAMPLE.CO.UK"}},
		{"digits", "163.com", []string{"163.com", "@163.com"}},
	}
	for _, c := range classes {
		t.Run(c.name, func(t *testing.T) {
			for _, raw := range c.forms {
				got, err := n.Domain(raw)
				if err != nil || got != (normalize.Contact{Kind: normalize.Domain, Value: c.want}) {
					t.Errorf("Domain(%q) = %v, %v; want %q", raw, got, err, c.want)
				}
				if p, err := n.Parse(raw); err != nil || p != got {
					t.Errorf("Parse(%q) = %v, %v; want %v", raw, p, err, got)
				}
			}
		})
	}
	checkRejects(t, n.Domain, normalize.Domain, []rejected{
		{"", "empty domain"},
		{"@", "empty domain"},
		{"*.", "empty domain"},
		{"localhost", "no dot"},
		{"*.com", "no dot"},
		{"@com", "no dot"},
		{"192.0.2.1", "numeric top-level domain"},
		{"[192.0.2.1]", "IP-literal"},
		{"exa mple.com", "invalid domain name"},
		{"-example.com", "invalid domain name"},
		{"example..com", "empty label"},
		{"a.b\xff", "not valid UTF-8"},
		{strings.Repeat("a", 64) + ".com", "longer than 63"},
		{strings.Repeat("a.", 1100) + "com", "longer than 1024 bytes"},
	})
}

func TestNormalizer_Parse_detectsKind(t *testing.T) {
	n := newNormalizer(t, normalize.WithRegion("GB"))
	tests := []struct {
		raw  string
		kind normalize.Kind
		want string
	}{
		{"ann@example.com", normalize.Email, "ann@example.com"},
		{"Ann <ann@example.com>", normalize.Email, "ann@example.com"},
		{"mailto:ann@example.com", normalize.Email, "ann@example.com"},
		{"+tag@example.com", normalize.Email, "+tag@example.com"},
		{"12345@example.com", normalize.Email, "12345@example.com"},
		{"+442071838750", normalize.Phone, "+442071838750"},
		{"02071838750", normalize.Phone, "+442071838750"},
		{"020.7183.8750", normalize.Phone, "+442071838750"},
		{"(020) 7183 8750", normalize.Phone, "+442071838750"},
		{"tel:+44-20-7183-8750", normalize.Phone, "+442071838750"},
		{"0044 20 7183 8750", normalize.Phone, "+442071838750"},
		{"example.com", normalize.Domain, "example.com"},
		{"@example.com", normalize.Domain, "example.com"},
		{"*.example.com", normalize.Domain, "example.com"},
		{"163.com", normalize.Domain, "163.com"},
		{"bücher.de", normalize.Domain, "xn--bcher-kva.de"},
		{"a.1-2", normalize.Domain, "a.1-2"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := n.Parse(tt.raw)
			if err != nil || got != (normalize.Contact{Kind: tt.kind, Value: tt.want}) {
				t.Errorf("Parse(%q) = %v %q, %v; want %v %q", tt.raw, got.Kind, got.Value, err, tt.kind, tt.want)
			}
			d, err := n.ParseDetail(tt.raw)
			if err != nil || d.Contact != got {
				t.Errorf("ParseDetail(%q) = %+v, %v", tt.raw, d, err)
			}
		})
	}
	// Errors carry the kind the input was read as, or 0.
	for _, r := range []struct {
		raw    string
		kind   normalize.Kind
		reason string
	}{
		{"", 0, "empty input"},
		{"hello", 0, "not an email address, phone number or domain"},
		{"Ann Smith", 0, "not an email address"},
		{"\xff\xfe", 0, "not an email address"},
		{strings.Repeat("x", 5000), 0, "longer than 1024 bytes"},
		{"ann@localhost", normalize.Email, "no dot"},
		{"+1 201 555 012", normalize.Phone, "too short"},
		{"123", normalize.Phone, "too short"},
		{"@localhost", normalize.Domain, "no dot"},
		{"1.2.3.4", normalize.Phone, "local number"},
	} {
		_, err := n.Parse(r.raw)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", r.raw)
			continue
		}
		checkInvalid(t, err, r.raw, r.kind, r.reason)
		if _, err := n.ParseDetail(r.raw); err == nil {
			t.Errorf("ParseDetail(%q) succeeded", r.raw)
		}
	}
}

func TestContact_keys(t *testing.T) {
	n := newNormalizer(t)
	for _, raw := range []string{"ann@example.com", "+12015550123", "example.com", "jürgen@bücher.de"} {
		c, err := n.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		key := c.Key()
		if !bytes.Equal(key, c.AppendKey(nil)) {
			t.Errorf("Key and AppendKey differ for %v", c)
		}
		back, err := normalize.FromKey(key)
		if err != nil || back != c {
			t.Errorf("FromKey(%q) = %v, %v; want %v", key, back, err, c)
		}
	}
	// Kinds never collide: the same text under three kinds gives three keys.
	e := normalize.Contact{Kind: normalize.Email, Value: "x"}.Key()
	p := normalize.Contact{Kind: normalize.Phone, Value: "x"}.Key()
	d := normalize.Contact{Kind: normalize.Domain, Value: "x"}.Key()
	if bytes.Equal(e, p) || bytes.Equal(p, d) || bytes.Equal(e, d) {
		t.Errorf("keys collide: %q %q %q", e, p, d)
	}
	if _, err := normalize.FromKey([]byte("x:abc")); !errors.Is(err, normalize.ErrKey) {
		t.Errorf("FromKey of a bad key: %v", err)
	}
	if c, _ := n.Parse("ann@example.com"); c.EmailDomain() != "example.com" {
		t.Errorf("EmailDomain = %q", c.EmailDomain())
	}
	for _, k := range []normalize.Kind{normalize.Email, normalize.Phone, normalize.Domain} {
		if back, err := normalize.ParseKind(k.String()); err != nil || back != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), back, err)
		}
	}
	if _, err := normalize.ParseKind("fax"); !errors.Is(err, normalize.ErrInvalid) {
		t.Errorf("ParseKind(fax) = %v", err)
	}
}

func TestInvalidError(t *testing.T) {
	n := newNormalizer(t)
	_, err := n.Email("ann@localhost")
	var ie *normalize.InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("%T is not *InvalidError", err)
	}
	if got, want := err.Error(), `normalize: invalid email "ann@localhost": domain has no dot`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	// Huge input is cut in the error, so an error never holds megabytes.
	huge := strings.Repeat("a", 1<<20)
	_, err = n.Parse(huge)
	if !errors.As(err, &ie) || len(ie.Input) != normalize.MaxInputLen {
		t.Errorf("error for 1 MiB input holds %d bytes of it", len(ie.Input))
	}
}
