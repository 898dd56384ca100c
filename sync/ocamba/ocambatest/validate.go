package ocambatest

import (
	"regexp"
	"strings"
	"time"
)

// The fake validates and parses with its own code, not the client's
// (ocamba.ValidContact, ocamba.ParseTime): a bug in the client's checks
// must show up as a 400 from the fake, not be copied into it. The
// documented literals are written here for the same reason.
const (
	blockedContactsPath = "/v1/hood/blocked-contacts"
	maskedContact       = "* * * * * * * * * *"
	typePhone           = "mobile_phone_number"
	documentedPerSecond = 10  // burst
	documentedPerMinute = 150 // steady
)

// timeLayout is Ocamba's documented timestamp, "YYYY-MM-DD HH:MM:SS" in
// GMT; dateLayout is the bare date of the documented filter example
// (create_time=rl:2024-01-01).
const (
	timeLayout = "2006-01-02 15:04:05"
	dateLayout = "2006-01-02"
)

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// parseFilterTime reads the time of a filter value: timeLayout or
// dateLayout (midnight), GMT, and nothing else: no RFC 3339, no zone, no
// surrounding spaces.
func parseFilterTime(s string) (time.Time, bool) {
	if t, err := time.ParseInLocation(timeLayout, s, time.UTC); err == nil {
		return t, true
	}
	t, err := time.ParseInLocation(dateLayout, s, time.UTC)
	return t, err == nil
}

// e164 is E.164 as Ocamba asks for it: '+', then 2 to 15 digits, the first
// not 0.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// validEmail is a simple check of "a valid email", all that Ocamba
// documents: printable ASCII without spaces, one '@', a local part of 1 to
// 64 bytes, and a domain with a dot that neither starts nor ends with one
// nor holds "..".
func validEmail(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || len(local) == 0 || len(local) > 64 || strings.Contains(domain, "@") {
		return false
	}
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".") &&
		!strings.Contains(domain, "..")
}

// validContact reports whether contact is what Ocamba documents for a
// create: "a valid phone number in the E.164 format, or a valid email".
func validContact(contact string) bool { return e164.MatchString(contact) || validEmail(contact) }
