package normalize

import (
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const (
	maxLocalLen   = 64  // octets (RFC 5321 4.5.3.1.1)
	maxAddressLen = 254 // octets: a 256-octet path minus its angle brackets
)

// atext marks the ASCII bytes allowed in a dot-atom local part besides '.'
// (RFC 5322 3.2.3), uppercase letters included.
var atext = func() (t [utf8.RuneSelf]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-/=?^_`{|}~" {
		t[c] = true
	}
	return t
}()

// email is Normalizer.Email on s, the trimmed raw.
func (n *Normalizer) email(raw, s string) (Contact, error) {
	if n.canonicalEmail(s) {
		return Contact{Kind: Email, Value: s}, nil
	}
	v, reason := n.emailSlow(s)
	if reason != "" {
		return Contact{}, invalid(raw, Email, reason)
	}
	return Contact{Kind: Email, Value: v}, nil
}

// Byte classes of the canonical-email fast path.
const (
	clLocal  = 1 << iota // lowercase ASCII atext: a canonical local part's bytes besides '.'
	clDomain             // a-z, 0-9, '-': a host name label's bytes
	clAlpha              // a-z or '-': a label holding one is not numeric
)

// emailClass gives every byte its classes, so that the fast path tests a
// byte with one load.
var emailClass = func() (t [256]uint8) {
	for c := range utf8.RuneSelf {
		if atext[c] && (c < 'A' || c > 'Z') {
			t[c] |= clLocal
		}
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= clDomain | clAlpha
	}
	for c := '0'; c <= '9'; c++ {
		t[c] |= clDomain
	}
	t['-'] |= clDomain | clAlpha
	return t
}()

// canonicalEmail reports whether s is an address that the full path would
// return unchanged: a lowercase ASCII dot-atom local part of at most 64
// octets, one '@', a domain that fastDomain accepts, at most 254 octets in
// all, and (with folding on) nothing to fold. It reads s once and does not
// allocate.
func (n *Normalizer) canonicalEmail(s string) bool {
	if len(s) > maxAddressLen {
		return false
	}
	at := -1
	afterDot := true // at the start or after a '.': a '.' here is an error
	for i := 0; i < len(s); i++ {
		c := s[i]
		if emailClass[c]&clLocal != 0 {
			afterDot = false
			continue
		}
		if c == '.' && !afterDot {
			afterDot = true
			continue
		}
		if c == '@' {
			at = i
		}
		break
	}
	if at <= 0 || at > maxLocalLen || afterDot {
		return false
	}
	d := s[at+1:]
	if !fastDomain(d) {
		return false
	}
	if n.folding {
		local := s[:at]
		switch foldRule(d) {
		case foldGmail:
			return d == "gmail.com" && strings.IndexByte(local, '+') < 0 && strings.IndexByte(local, '.') < 0
		case foldPlus:
			return strings.IndexByte(local, '+') < 0
		}
	}
	return true
}

// fastDomain reports whether scanDomain(d) would return ("", true): d is a
// valid lowercase ASCII host name that IDNA leaves as it is. It is the same
// test, one table load a byte.
func fastDomain(d string) bool {
	if d == "" || len(d) > maxDomainLen {
		return false
	}
	labels, start, last := 0, 0, 0
	for i := 0; i <= len(d); i++ {
		if i < len(d) {
			c := d[i]
			if emailClass[c]&clDomain != 0 {
				continue
			}
			if c != '.' {
				return false
			}
		}
		l := d[start:i]
		if l == "" || len(l) > maxLabelLen || l[0] == '-' || l[len(l)-1] == '-' ||
			(len(l) >= 4 && l[2] == '-' && l[3] == '-') {
			return false
		}
		labels++
		last, start = start, i+1
	}
	if labels < 2 {
		return false
	}
	for i := last; i < len(d); i++ {
		if emailClass[d[i]]&clAlpha != 0 {
			return true
		}
	}
	return false // a numeric top-level label
}

// emailSlow normalizes s (trimmed) the long way: mailto: URIs, display
// names and comments through net/mail, Unicode, IDNA. It returns the
// canonical address, or a non-empty reason why s is not one.
func (n *Normalizer) emailSlow(s string) (string, string) {
	if s == "" {
		return "", "empty input"
	}
	if len(s) > MaxInputLen {
		return "", tooLongReason
	}
	if !utf8.ValidString(s) {
		return "", "not valid UTF-8"
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", "contains a line break"
	}
	// net/mail reads some IP literals and not others ("[IPv6:…]"); none
	// is accepted, so say so plainly.
	if i := strings.LastIndexByte(s, '@'); i >= 0 && i+1 < len(s) && s[i+1] == '[' {
		return "", "IP-literal domains are not accepted"
	}
	addr := s
	if hasPrefixFold(s, "mailto:") {
		a, reason := mailtoAddress(s[len("mailto:"):])
		if reason != "" {
			return "", reason
		}
		addr = a
	} else if strings.ContainsFunc(s, needsMailParser) {
		a, reason := parseMailbox(s)
		if reason != "" {
			return "", reason
		}
		addr = a
	}
	return n.canonAddrSpec(addr)
}

// needsMailParser reports whether r occurs in an address only through a
// display name, angle brackets, quoting, a comment or a list: those forms
// go through net/mail.
func needsMailParser(r rune) bool {
	switch r {
	case '<', '>', '"', '(', ')', ',', ';', ':', '\\', '[', ']':
		return true
	}
	return unicode.IsSpace(r)
}

// mailtoAddress returns the address of a mailto: URI (RFC 6068) without its
// scheme: the part before any '?' (headers such as cc= are dropped) or '#',
// percent-decoded.
func mailtoAddress(u string) (string, string) {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	a, err := url.PathUnescape(u)
	if err != nil {
		return "", "bad percent-encoding in mailto URI"
	}
	switch {
	case a == "":
		return "", "mailto URI has no address"
	case strings.ContainsAny(a, ",;"):
		return "", "several addresses"
	case strings.Count(a, "@") > 1:
		return "", "more than one '@'"
	case strings.ContainsFunc(a, needsMailParser):
		return "", "mailto address is not a plain address"
	}
	return a, ""
}

// parseMailbox reads one mailbox ("Name <addr>", "<addr>", "addr (comment)",
// a quoted local part) with net/mail and returns its addr-spec.
func parseMailbox(s string) (string, string) {
	list, err := mail.ParseAddressList(s)
	if err != nil {
		if outsideQuotes(s, '@') > 1 {
			return "", "several addresses"
		}
		return "", "malformed address (" + mailWhy(err) + ")"
	}
	if len(list) != 1 {
		return "", "several addresses"
	}
	return list[0].Address, ""
}

// mailWhy says in plain words what net/mail found wrong, without its
// grammar terms (angle-addr, addr-spec, atom).
func mailWhy(err error) string {
	msg := err.Error()
	for _, m := range []struct{ in, out string }{
		{"unclosed angle-addr", "'<' without '>'"},
		{"no angle-addr", "a name without an <address>"},
		{"missing '@' or angle-addr", "missing '@'"},
		{"missing @ in addr-spec", "missing '@'"},
		{"no domain in addr-spec", "no domain after '@'"},
		{"no addr-spec", "no address"},
		{"no address", "no address"},
		{"empty quoted string", "empty quoted local part"},
		{"unclosed quoted-string", "unclosed quote"},
		{"dot in atom", "misplaced dot"},
		{"unclosed domain-literal", "'[' without ']'"},
		{"expected comma", "unexpected text after the address"},
		{"group", "a group of addresses"},
		{"comment", "malformed comment in parentheses"},
		{"invalid string", "characters not allowed in an address"},
	} {
		if strings.Contains(msg, m.in) {
			return m.out
		}
	}
	return "not a valid address"
}

// outsideQuotes counts c in s outside double-quoted strings.
func outsideQuotes(s string, c byte) int {
	n, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case c:
			if !quoted {
				n++
			}
		}
	}
	return n
}

// canonAddrSpec validates and canonicalizes a bare local@domain.
func (n *Normalizer) canonAddrSpec(addr string) (string, string) {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", "missing @"
	}
	local, domain := addr[:at], addr[at+1:]
	if strings.IndexByte(local, '@') >= 0 {
		return "", "more than one '@'"
	}
	if local == "" {
		return "", "empty local part"
	}
	if domain == "" {
		return "", "empty domain"
	}
	if !utf8.ValidString(addr) {
		return "", "not valid UTF-8"
	}
	local = canonLocal(local)
	if reason := checkLocal(local); reason != "" {
		return "", reason
	}
	d, reason := canonDomain(domain)
	if reason != "" {
		return "", reason
	}
	if len(local)+1+len(d) > maxAddressLen {
		return "", "address longer than 254 octets"
	}
	if n.folding {
		local, d = fold(local, d)
		if local == "" {
			return "", "empty local part after provider folding"
		}
		if checkLocal(local) != "" {
			return "", "local part not valid after provider folding"
		}
	}
	return local + "@" + d, ""
}

// canonLocal lowercases a local part and puts it in Unicode NFC. The whole
// address is lowercased: every large mailbox provider delivers local parts
// case-insensitively, and a key that kept case would let "Ann@" through a
// block on "ann@".
func canonLocal(l string) string {
	for i := 0; i < len(l); i++ {
		if c := l[i]; c >= utf8.RuneSelf {
			return norm.NFC.String(strings.ToLower(norm.NFC.String(l)))
		}
	}
	return strings.ToLower(l)
}

// checkLocal validates a canonical local part: a dot-atom of ASCII atext
// and printable non-space Unicode (RFC 6531), at most 64 octets.
func checkLocal(l string) string {
	if len(l) > maxLocalLen {
		return "local part longer than 64 octets"
	}
	if l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, "..") {
		return "local part has a leading, trailing or double dot"
	}
	for _, r := range l {
		if r == '.' {
			continue
		}
		if r < utf8.RuneSelf {
			if !atext[r] {
				return "local part has a character that needs quoting"
			}
			continue
		}
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) || r == utf8.RuneError {
			return "local part has a character that is not allowed"
		}
	}
	return ""
}
