package ocamba_test

import (
	"testing"
	"time"

	"github.com/sendguard/sendguard/sync/ocamba"
)

func TestValidContact(t *testing.T) {
	valid := []string{"+38112345678", "+12025550123", "+447911123456", "+12345678", "+123456789012345",
		"+6834002", "+6902123", "+2902222", "+1234567", "+12", // E.164 sets no minimum length
		"ann@example.com", "Ann.Lee+tag@sub.example.co.uk", "o'brien@example.ie", "x@xn--bcher-kva.example"}
	invalid := []string{"", "+", "+1", "+1234567890123456", "+0123456789", "+02", "12025550123", "+1 202 555 0123",
		"+1-202-555-0123", "++12025550123", "+1202555012a", "ann", "@example.com", "ann@", "ann@example",
		"ann@@example.com", "a@b@example.com", "ann lee@example.com", ".ann@example.com", "ann.@example.com",
		"an..n@example.com", "ann@-example.com", "ann@example.123", "Ann <ann@example.com>", "ännü@example.com",
		"ann@bücher.example", ocamba.MaskedContact}
	for _, s := range valid {
		if !ocamba.ValidContact(s) {
			t.Errorf("ValidContact(%q) = false", s)
		}
	}
	for _, s := range invalid {
		if ocamba.ValidContact(s) {
			t.Errorf("ValidContact(%q) = true", s)
		}
	}
	if ocamba.ValidE164("ann@example.com") || ocamba.ValidEmail("+12025550123") {
		t.Error("kinds mixed up")
	}
}

func TestIsMasked(t *testing.T) {
	for _, s := range []string{ocamba.MaskedContact, "*", "***", " * ", "* * *"} {
		if !ocamba.IsMasked(s) {
			t.Errorf("IsMasked(%q) = false", s)
		}
	}
	for _, s := range []string{"", " ", "+1234567890", "a***@example.com", "***0123", "* * * x", "*\t*"} {
		if ocamba.IsMasked(s) {
			t.Errorf("IsMasked(%q) = true", s)
		}
	}
	if (ocamba.BlockedContact{Contact: ocamba.MaskedContact}).Masked() != true {
		t.Error("BlockedContact.Masked")
	}
}

func TestParseFormatTime(t *testing.T) {
	want := time.Date(2021, 10, 29, 12, 47, 0, 0, time.UTC)
	for _, s := range []string{"2021-10-29 12:47:00", "2021-10-29T12:47:00Z", "2021-10-29T14:47:00+02:00", " 2021-10-29 12:47:00 "} {
		got, err := ocamba.ParseTime(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v", s, got, err)
		}
	}
	if got, err := ocamba.ParseTime("2024-01-01"); err != nil || !got.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("date only: %v %v", got, err)
	}
	for _, s := range []string{"", "yesterday", "2021-13-01 00:00:00", "2021-10-29 12:47"} {
		if _, err := ocamba.ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q) accepted", s)
		}
	}
	belgrade := time.FixedZone("CET", 3600)
	if got := ocamba.FormatTime(time.Date(2025, 2, 13, 9, 41, 44, 999, belgrade)); got != "2025-02-13 08:41:44" {
		t.Errorf("FormatTime = %q", got)
	}
}
