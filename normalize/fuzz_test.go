package normalize_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/sendguard/sendguard/normalize"
)

// The fuzz targets check the invariants every key depends on, for any
// input: no panic; a result is valid UTF-8 in NFC; normalizing the result
// again gives it back unchanged (the key is stable); and where a fast path
// takes an input, the full path gives the same answer. Seeds live in
// testdata/fuzz/<FuzzName>/ and run with every `go test`.

// fuzzRegions are the default regions FuzzPhone and FuzzParse pick from.
var fuzzRegions = []string{"US", "GB", "DE", "IT", "AR", "BR", "JP", "RU", "FR", "IN", "MG", "SM"}

// fuzzNormalizers builds one Normalizer per region and folding setting,
// shared by all inputs (a Normalizer is safe for concurrent use), so that
// the memo also sees repeated input.
func fuzzNormalizers(f *testing.F) func(region byte, folding bool) *normalize.Normalizer {
	var ns [2][]*normalize.Normalizer
	for i, folding := range []bool{false, true} {
		for _, r := range fuzzRegions {
			ns[i] = append(ns[i], newNormalizer(f, normalize.WithRegion(r), normalize.WithProviderFolding(folding)))
		}
	}
	return func(region byte, folding bool) *normalize.Normalizer {
		i := 0
		if folding {
			i = 1
		}
		return ns[i][int(region)%len(fuzzRegions)]
	}
}

// checkCanonical asserts the invariants of a canonical contact c, produced
// by n, and that reading it again with read gives it back.
func checkCanonical(t *testing.T, raw string, c normalize.Contact, read func(string) (normalize.Contact, error)) {
	t.Helper()
	if c.Value == "" || !utf8.ValidString(c.Value) || !norm.NFC.IsNormalString(c.Value) {
		t.Fatalf("%q gave %q: empty, not UTF-8 or not NFC", raw, c.Value)
	}
	if strings.TrimSpace(c.Value) != c.Value {
		t.Fatalf("%q gave %q with surrounding space", raw, c.Value)
	}
	again, err := read(c.Value)
	if err != nil || again != c {
		t.Fatalf("%q gave %v; reading that again gives %v, %v", raw, c, again, err)
	}
	back, err := normalize.FromKey(c.Key())
	if err != nil || back != c {
		t.Fatalf("FromKey(Key(%v)) = %v, %v", c, back, err)
	}
}

func FuzzEmail(f *testing.F) {
	for _, c := range emailClasses {
		for _, raw := range c.forms {
			f.Add(raw, false)
		}
	}
	pick := fuzzNormalizers(f)
	f.Fuzz(func(t *testing.T, raw string, folding bool) {
		n := pick(0, folding)
		c, err := n.Email(raw)
		s := strings.TrimSpace(raw)
		if n.FastEmail(s) {
			if v, reason := n.SlowEmail(s); reason != "" || v != s {
				t.Fatalf("fast path keeps %q, full path gives %q, %q", s, v, reason)
			}
		}
		if err != nil {
			return
		}
		if c.Kind != normalize.Email || strings.Count(c.Value, "@") != 1 {
			t.Fatalf("Email(%q) = %v %q", raw, c.Kind, c.Value)
		}
		checkCanonical(t, raw, c, n.Email)
		// A canonical address is also what Parse reads it as.
		if p, err := n.Parse(c.Value); err != nil || p != c {
			t.Fatalf("Parse(%q) = %v, %v", c.Value, p, err)
		}
	})
}

func FuzzPhone(f *testing.F) {
	for _, c := range phoneClasses {
		for _, raw := range c.forms {
			f.Add(raw, byte(0))
		}
	}
	pick := fuzzNormalizers(f)
	other := newNormalizer(f, normalize.WithRegion("NZ"))
	f.Fuzz(func(t *testing.T, raw string, region byte) {
		n := pick(region, false)
		c, err := n.Phone(raw)
		s := strings.TrimSpace(raw)
		if n.FastPhone(s) {
			if v, reason := n.SlowPhone(s); reason != "" || v != s {
				t.Fatalf("region %s: fast path keeps %q, full path gives %q, %q", n.Region(), s, v, reason)
			}
		}
		if err != nil {
			return
		}
		v := c.Value
		if c.Kind != normalize.Phone || len(v) < 3 || len(v) > 1+3+17 || v[0] != '+' || strings.Trim(v[1:], "0123456789") != "" {
			t.Fatalf("Phone(%q) = %v %q: not E.164-shaped (libphonenumber allows national numbers of up to 17 digits)", raw, c.Kind, v)
		}
		checkCanonical(t, raw, c, n.Phone)
		// The key does not depend on the default region.
		if again, err := other.Phone(v); err != nil || again != c {
			t.Fatalf("Phone(%q) with region NZ = %v, %v", v, again, err)
		}
		// Where Parse reads raw as a phone number too, it agrees, and so
		// does ParseDetail. ("07400.A00000" is a phone number to Phone but
		// a host name to Parse.)
		if p, err := n.Parse(raw); err == nil && p.Kind == normalize.Phone {
			if p != c {
				t.Fatalf("Parse(%q) = %v; Phone gave %v", raw, p, c)
			}
			if d, err := n.ParseDetail(raw); err != nil || d.Contact != c {
				t.Fatalf("ParseDetail(%q) = %+v, %v; Phone gave %v", raw, d, err, c)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, c := range emailClasses {
		f.Add(c.forms[0], byte(0), false)
	}
	for _, c := range phoneClasses {
		f.Add(c.forms[len(c.forms)-1], byte(1), false)
	}
	for _, raw := range []string{"example.com", "@example.com", "*.bücher.de", "163.com", "", "\xff", "tel:", "mailto:"} {
		f.Add(raw, byte(2), true)
	}
	pick := fuzzNormalizers(f)
	f.Fuzz(func(t *testing.T, raw string, region byte, folding bool) {
		n := pick(region, folding)
		c, err := n.Parse(raw)
		d, derr := n.ParseDetail(raw)
		if (err == nil) != (derr == nil) || (err == nil && d.Contact != c) {
			t.Fatalf("Parse(%q) = %v, %v but ParseDetail = %+v, %v", raw, c, err, d, derr)
		}
		if err != nil {
			return
		}
		checkCanonical(t, raw, c, n.Parse)
		// The kind-specific method agrees with Parse.
		var k normalize.Contact
		switch c.Kind {
		case normalize.Email:
			k, err = n.Email(raw)
		case normalize.Phone:
			k, err = n.Phone(raw)
		case normalize.Domain:
			k, err = n.Domain(raw)
		default:
			t.Fatalf("Parse(%q) gave kind %v", raw, c.Kind)
		}
		if err != nil || k != c {
			t.Fatalf("Parse(%q) = %v but the %v method gives %v, %v", raw, c, c.Kind, k, err)
		}
	})
}
