package ocambatest

import (
	"strings"
	"testing"
	"time"

	"github.com/sendguard/sendguard/sync/ocamba"
)

func TestValidContact(t *testing.T) {
	valid := []string{"+38112345678", "+12025550123", "+123456789012345", "+6834002", "+6902123", "+2902222", "+12",
		"ann@example.com", "Ann.Lee+tag@sub.example.co.uk", "o'brien@example.ie", "x@xn--bcher-kva.example",
		"ann@xn--e1afmkfd.xn--p1ai"}
	invalid := []string{"", "+", "+1", "+1234567890123456", "+0123456789", "12025550123", "+1 202 555 0123",
		"+1-202-555-0123", "++12025550123", "+1202555012a", "+12025550123\n", "ann", "@example.com", "ann@",
		"ann@example", "ann@@example.com", "a@b@example.com", "ann lee@example.com", "ann@.example.com",
		"ann@example.com.", "ann@example..com", "Ann <ann@example.com>", "ännü@example.com", "ann@bücher.example",
		"ann@example.com\t", maskedContact}
	for _, s := range valid {
		if !validContact(s) {
			t.Errorf("validContact(%q) = false", s)
		}
		// The client sends all of these: the fake must take what it sends.
		if !ocamba.ValidContact(s) {
			t.Errorf("client refuses %q", s)
		}
	}
	for _, s := range invalid {
		if validContact(s) {
			t.Errorf("validContact(%q) = true", s)
		}
	}
}

// FuzzValidContact_Agree: the client never sends a contact the fake
// refuses, and the two agree exactly on phone numbers (E.164 is one rule;
// Ocamba's email rule is undocumented, so the fake's check is the looser).
func FuzzValidContact_Agree(f *testing.F) {
	for _, s := range []string{"+6834002", "+12", "+1", "+0123", "+123456789012345", "ann@example.com", "a@b", ".a@b.co", "a(b)@c.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ocamba.ValidContact(s) && !validContact(s) {
			t.Fatalf("the client sends %q, the fake refuses it", s)
		}
		// Without an '@' a contact can only be a phone number.
		if !strings.Contains(s, "@") && ocamba.ValidContact(s) != e164.MatchString(s) {
			t.Fatalf("%q: client E.164 %v, fake %v", s, ocamba.ValidContact(s), e164.MatchString(s))
		}
	})
}

func TestParseFilterTime(t *testing.T) {
	for s, want := range map[string]time.Time{
		"2021-10-29 12:47:00": time.Date(2021, 10, 29, 12, 47, 0, 0, time.UTC),
		"2024-01-01":          time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, ok := parseFilterTime(s); !ok || !got.Equal(want) {
			t.Errorf("parseFilterTime(%q) = %v, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "2021-10-29T12:47:00Z", "2021-10-29T14:47:00+02:00", "2021-10-29 12:47:00Z",
		" 2021-10-29 12:47:00", "2021-10-29 12:47", "2021-13-01", "yesterday", "1635511620"} {
		if _, ok := parseFilterTime(s); ok {
			t.Errorf("parseFilterTime(%q) accepted", s)
		}
	}
	// The documented filter format (the client's) is one the fake reads.
	at := time.Date(2025, 2, 13, 9, 41, 44, 999, time.FixedZone("CET", 3600))
	if got, ok := parseFilterTime(at.UTC().Format(time.DateTime)); !ok || !got.Equal(at.Truncate(time.Second)) {
		t.Errorf("%q: %v %v", at.UTC().Format(time.DateTime), got, ok)
	}
}
