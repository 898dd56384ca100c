package normalize

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

const (
	maxDomainLen = 253 // octets, without a trailing dot (RFC 1035, RFC 5321)
	maxLabelLen  = 63
)

// domain is Normalizer.Domain on s, the trimmed raw.
func (n *Normalizer) domain(raw, s string) (Contact, error) {
	if len(s) > MaxInputLen {
		return Contact{}, invalid(raw, Domain, tooLongReason)
	}
	switch {
	case strings.HasPrefix(s, "@"):
		s = s[1:]
	case strings.HasPrefix(s, "*."):
		s = s[2:]
	}
	d, reason := canonDomain(s)
	if reason != "" {
		return Contact{}, invalid(raw, Domain, reason)
	}
	return Contact{Kind: Domain, Value: d}, nil
}

// canonDomain returns the canonical form of the domain d: lowercase ASCII
// (IDNA lookup profile), no trailing dot, every label a valid host name
// label, at least two labels, and a top-level label that is not numeric.
// It returns a non-empty reason instead when d is not such a domain. For
// input that is already canonical it returns d itself without allocating.
func canonDomain(d string) (string, string) {
	if fastDomain(d) {
		return d, ""
	}
	if d == "" {
		return "", "empty domain"
	}
	if d[0] == '[' {
		return "", "IP-literal domains are not accepted"
	}
	if !utf8.ValidString(d) {
		return "", "domain is not valid UTF-8"
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", "invalid domain name (" + strings.TrimPrefix(err.Error(), "idna: ") + ")"
	}
	a = strings.TrimSuffix(a, ".")
	if reason, _ := scanDomain(a); reason != "" {
		return "", reason
	}
	return a, ""
}

// scanDomain checks that d is a structurally valid, lowercase ASCII host
// name of at least two labels. reason is empty when it is. fast is true when,
// in addition, the IDNA lookup profile would return d unchanged: no label
// is an A-label ("xn--…") or has hyphens in its 3rd and 4th places, which
// IDNA checks further (and then d may need the slow path). A trailing dot is
// not accepted here: callers remove it first.
func scanDomain(d string) (reason string, fast bool) {
	if d == "" {
		return "empty domain", false
	}
	if len(d) > maxDomainLen {
		return "domain longer than 253 octets", false
	}
	fast = true
	labels := 0
	start := 0
	numeric := true // the current label is all digits
	for i := 0; i <= len(d); i++ {
		if i < len(d) && d[i] != '.' {
			c := d[i]
			switch {
			case c >= 'a' && c <= 'z':
				numeric = false
			case c >= '0' && c <= '9':
			case c == '-':
				numeric = false
			default:
				return "invalid character in domain", false
			}
			continue
		}
		// End of the label d[start:i].
		l := d[start:i]
		switch {
		case l == "":
			return "empty label in domain", false
		case len(l) > maxLabelLen:
			return "domain label longer than 63 octets", false
		case l[0] == '-' || l[len(l)-1] == '-':
			return "domain label starts or ends with a hyphen", false
		case len(l) >= 4 && l[2] == '-' && l[3] == '-':
			fast = false
		}
		labels++
		if i < len(d) {
			start = i + 1
			numeric = true
		}
	}
	if labels < 2 {
		return "domain has no dot", false
	}
	if numeric {
		return "numeric top-level domain (IP addresses are not accepted)", false
	}
	return "", fast
}
