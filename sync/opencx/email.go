package opencx

import (
	"regexp"
	"strings"
)

// EmailPattern is the pattern OpenCX documents for the email of a blocked
// contact (BlockContactInputDto.email), an ECMAScript regular expression.
const EmailPattern = `^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$`

// emailRest is EmailPattern without its two lookaheads, which RE2 lacks;
// ValidEmail checks them by hand.
var emailRest = regexp.MustCompile(`^[A-Za-z0-9_'+\-.]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9-]*\.)+[A-Za-z]{2,}$`)

// ValidEmail reports whether s matches [EmailPattern] exactly as an
// ECMAScript engine would: it does not start with '.', contains no "..",
// and matches the rest of the pattern. (In ECMAScript '.' does not match a
// line terminator, so the "no .." lookahead stops at one; but no line
// terminator can match the rest of the pattern, so checking the whole
// string is the same.) Uppercase letters are allowed: the pattern does not
// lowercase.
func ValidEmail(s string) bool {
	return !strings.HasPrefix(s, ".") && !strings.Contains(s, "..") && emailRest.MatchString(s)
}

// ValidDomain reports whether d can be sent to [Client.BlockDomains]: a
// plain host name of at least two labels ("example.com") made of letters,
// digits and inner hyphens, each label 1 to 63 bytes: no wildcard, no '@',
// no comma, no space; the last label has a letter.
func ValidDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for label := range strings.SplitSeq(d, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := d[strings.LastIndexByte(d, '.')+1:]
	return strings.ContainsFunc(tld, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' })
}
