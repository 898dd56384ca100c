package normalize

import "strings"

// foldKind is the provider folding rule for a domain.
type foldKind uint8

const (
	foldNone  foldKind = iota
	foldGmail          // remove dots and "+tag"; googlemail.com -> gmail.com
	foldPlus           // remove "+tag"
)

// foldRule returns the folding rule for the canonical (ASCII, lowercase)
// domain d. The table is documented in doc.go; keep the two in step.
func foldRule(d string) foldKind {
	switch d {
	case "gmail.com", "googlemail.com":
		return foldGmail
	case
		// Outlook.com (Microsoft consumer mail): plus addressing.
		"outlook.com", "hotmail.com", "live.com", "msn.com",
		"hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.it", "hotmail.es",
		"live.co.uk", "live.fr", "live.de", "live.it", "live.nl",
		"outlook.fr", "outlook.de",
		// iCloud Mail.
		"icloud.com", "me.com", "mac.com",
		// Fastmail.
		"fastmail.com", "fastmail.fm",
		// Proton Mail.
		"proton.me", "protonmail.com", "protonmail.ch", "pm.me":
		return foldPlus
	}
	return foldNone
}

// fold applies provider folding to a canonical local part and domain. The
// result's local part may be empty ("+tag@gmail.com"), which callers reject.
func fold(local, d string) (string, string) {
	switch foldRule(d) {
	case foldGmail:
		if i := strings.IndexByte(local, '+'); i >= 0 {
			local = local[:i]
		}
		return strings.ReplaceAll(local, ".", ""), "gmail.com"
	case foldPlus:
		if i := strings.IndexByte(local, '+'); i >= 0 {
			local = local[:i]
		}
	}
	return local, d
}
