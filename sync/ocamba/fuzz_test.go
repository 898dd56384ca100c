package ocamba_test

import (
	"regexp"
	"testing"

	"github.com/sendguard/sendguard/sync/ocamba"
)

// FuzzParseTime: no panic, and whatever parses formats to a value that
// parses back to the same second.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2021-10-29 12:47:00", "2021-10-29T12:47:00+02:00", "2024-01-01", "", "9999-12-31 23:59:59"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ocamba.ParseTime(s)
		if err != nil {
			return
		}
		back, err := ocamba.ParseTime(ocamba.FormatTime(tm))
		if err != nil || !back.Equal(tm.Truncate(1e9)) && tm.Year() >= 0 && tm.Year() <= 9999 {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, tm, ocamba.FormatTime(tm), back, err)
		}
	})
}

// FuzzIsMasked: a masked value is never a valid contact.
func FuzzIsMasked(f *testing.F) {
	for _, s := range []string{ocamba.MaskedContact, "+12025550123", "* x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ocamba.IsMasked(s) && ocamba.ValidContact(s) {
			t.Fatalf("%q is both masked and a valid contact", s)
		}
	})
}

// e164 is the E.164 rule as a regular expression: ValidE164 must agree.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// FuzzValidE164: ValidE164 (written without regexp) agrees with
// ^\+[1-9][0-9]{1,14}$.
func FuzzValidE164(f *testing.F) {
	for _, s := range []string{"+6834002", "+12", "+1", "+123456789012345", "+1234567890123456", "+0123", "+1 2", "+12\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ocamba.ValidE164(s), e164.MatchString(s); got != want {
			t.Fatalf("ValidE164(%q) = %v, want %v", s, got, want)
		}
	})
}
