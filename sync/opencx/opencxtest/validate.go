package opencxtest

import "strings"

// The fake validates with its own code, not the client's (opencx.ValidEmail,
// opencx.ValidDomain): a bug in the client's checks must show up as a 400
// from the fake, not be copied into it.

// emailPattern is the pattern OpenCX documents for
// BlockContactInputDto.email (an ECMAScript regular expression), quoted in
// the fake's 400 message.
const emailPattern = `^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$`

// validEmail reports whether s matches emailPattern as an ECMAScript engine
// would. The lookaheads make the pattern unfit for Go's regexp (RE2), so
// this reads it piece by piece:
//
//   - (?!\.): s does not start with '.';
//   - (?!.*\.\.): s holds no ".." (ECMAScript's '.' stops at a line
//     terminator, but none can match the rest anyway);
//   - ([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@: a local part of at least one
//     character from that set, the last neither a dot nor an apostrophe;
//   - ([A-Za-z0-9][A-Za-z0-9\-]*\.)+: one or more labels, each starting
//     with a letter or digit, each followed by '.';
//   - [A-Za-z]{2,}$: a last label of two or more letters, then the end
//     (no multiline flag: not before a final newline).
//
// No character class holds '@', so s has exactly one.
func validEmail(s string) bool {
	if strings.HasPrefix(s, ".") || strings.Contains(s, "..") {
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" {
		return false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		last := i == len(local)-1
		if !(isAlnum(c) || c == '_' || c == '+' || c == '-' || !last && (c == '\'' || c == '.')) {
			return false
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels[:len(labels)-1] {
		if l == "" || !isAlnum(l[0]) {
			return false
		}
		for i := 1; i < len(l); i++ {
			if !isAlnum(l[i]) && l[i] != '-' {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 {
		return false
	}
	for i := 0; i < len(tld); i++ {
		if !isLetter(tld[i]) {
			return false
		}
	}
	return true
}

// validDomain is the fake's check of one entry of "domains". OpenCX
// documents only a comma-separated string; the fake takes a plain host
// name: two or more labels of 1 to 63 letters, digits and inner hyphens,
// at most 253 bytes, the last label with a letter.
func validDomain(d string) bool {
	if len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return false
		}
		for i := 0; i < len(l); i++ {
			if !isAlnum(l[i]) && l[i] != '-' {
				return false
			}
		}
	}
	return strings.IndexFunc(labels[len(labels)-1], func(r rune) bool { return r < 0x80 && isLetter(byte(r)) }) >= 0
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isAlnum(c byte) bool { return isLetter(c) || '0' <= c && c <= '9' }
