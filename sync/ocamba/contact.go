package ocamba

import (
	"strings"
	"time"
)

// timeLayout is Ocamba's documented timestamp format ("YYYY-MM-DD
// HH:MM:SS"), always in GMT.
const timeLayout = "2006-01-02 15:04:05"

// formatTime formats t in timeLayout, in GMT (UTC), dropping fractions
// of a second.
func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// parseTime reads an Ocamba timestamp: timeLayout in GMT, and also, to be
// tolerant, RFC 3339 and a bare date ("2024-01-01", midnight GMT). The
// result is in UTC.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	t, err := time.ParseInLocation(timeLayout, s, time.UTC)
	if err == nil {
		return t, nil
	}
	if t, err2 := time.Parse(time.RFC3339Nano, s); err2 == nil {
		return t.UTC(), nil
	}
	if t, err2 := time.ParseInLocation(time.DateOnly, s, time.UTC); err2 == nil {
		return t, nil
	}
	return time.Time{}, err
}

// MaskedContact is how Ocamba shows a contact it hides: in every create
// answer, and in reads without read_gdpr_fields=true.
const MaskedContact = "* * * * * * * * * *"

// isMasked reports whether contact is a masked value: only '*' and spaces,
// with at least one '*'. A masked value says nothing about the contact: it
// must never become a block key.
func isMasked(contact string) bool {
	star := false
	for i := 0; i < len(contact); i++ {
		switch contact[i] {
		case '*':
			star = true
		case ' ':
		default:
			return false
		}
	}
	return star
}

// TypePhone is the documented type of a phone contact. The type of an
// email contact is not documented.
const TypePhone = "mobile_phone_number"

// validE164 reports whether s is a phone number in E.164 form: '+', a
// first digit 1-9, and 2 to 15 digits in all (^\+[1-9][0-9]{1,14}$).
// E.164 sets only the maximum; short numbers exist (Niue's +6834002).
func validE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ValidEmail reports whether s is a plain ASCII email address: one '@', a
// local part of 1 to 64 printable characters without spaces or the
// specials ()<>[]\,;:", and a domain of at least two labels of letters,
// digits and inner hyphens whose last label has a letter. Ocamba documents
// only "a valid email"; this is the conservative reading.
func ValidEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at < 1 || at > 64 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return false
	}
	for i := 0; i < at; i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>[]\,;:"`, c) >= 0 {
			return false
		}
	}
	if s[0] == '.' || s[at-1] == '.' || strings.Contains(s[:at], "..") {
		return false
	}
	return validDomain(s[at+1:])
}

func validDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return strings.ContainsFunc(tld, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' })
}

// ValidContact reports whether contact can be sent to
// [Client.CreateBlockedContact]: an E.164 phone number ([validE164]) or an
// email address ([ValidEmail]), as Ocamba documents.
func ValidContact(contact string) bool { return validE164(contact) || ValidEmail(contact) }
