package normalize

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// maxPhoneLen is libphonenumber's own input cap (MAX_INPUT_STRING_LENGTH).
const maxPhoneLen = 250

// phoneMemo is the outcome of the full phone path for one input: either a
// canonical value (with its extension) or a reason.
type phoneMemo struct {
	value  string
	ext    string
	reason string
}

// phone is Normalizer.Phone on s, the trimmed raw.
func (n *Normalizer) phone(raw, s string) (Contact, error) {
	if n.phones.canonical(s) {
		return Contact{Kind: Phone, Value: s}, nil
	}
	m := n.phoneSlowMemo(s)
	if m.reason != "" {
		return Contact{}, invalid(raw, Phone, m.reason)
	}
	return Contact{Kind: Phone, Value: m.value}, nil
}

// phoneSlowMemo is phoneSlow through the memo. Rejections are remembered
// too: a bad number sent to every message costs one parse.
func (n *Normalizer) phoneSlowMemo(s string) phoneMemo {
	if len(s) > maxPhoneLen {
		if len(s) > MaxInputLen {
			return phoneMemo{reason: tooLongReason}
		}
		return phoneMemo{reason: "longer than 250 bytes"}
	}
	if n.memo == nil {
		return n.phoneSlow(s)
	}
	if m, ok := n.memo.Get(s); ok {
		return m
	}
	m := n.phoneSlow(s)
	// Clone: s may be a slice of a much larger string.
	n.memo.Add(strings.Clone(s), m)
	return m
}

// phoneSlow normalizes s (trimmed, at most maxPhoneLen bytes) with
// libphonenumber.
func (n *Normalizer) phoneSlow(s string) phoneMemo {
	if s == "" {
		return phoneMemo{reason: "empty input"}
	}
	if !utf8.ValidString(s) {
		return phoneMemo{reason: "not valid UTF-8"}
	}
	if strings.ContainsFunc(s, notInPhone) {
		return phoneMemo{reason: "character not allowed in a phone number"}
	}
	num, ext := s, ""
	if hasPrefixFold(s, "tel:") {
		var reason string
		num, ext, reason = telURI(s[len("tel:"):])
		if reason != "" {
			return phoneMemo{reason: reason}
		}
	}
	if r, _ := utf8.DecodeRuneInString(num); !isPhoneStart(r) {
		return phoneMemo{reason: "does not start with '+', a digit or '('"}
	}
	pn, reason := n.parsePhone(num)
	if reason != "" {
		return phoneMemo{reason: reason}
	}
	v := phonenumbers.Format(pn, phonenumbers.E164)
	// The key must read back as itself. Numbers the fast path accepts do
	// (see phoneTable); others are checked: a national number that still
	// starts with a national prefix after one was stripped
	// ("+44 0 0…") reads differently a second time, and is refused.
	if !n.phones.canonical(v) {
		again, reason := n.parsePhone(v)
		if reason != "" || phonenumbers.Format(again, phonenumbers.E164) != v {
			return phoneMemo{reason: "ambiguous national prefix"}
		}
	}
	if ext == "" {
		ext = pn.GetExtension()
	}
	return phoneMemo{value: v, ext: ext}
}

// phoneDetail is ParseDetail for a phone number: the key as Phone gives it,
// the extension, and whether libphonenumber knows the number's range.
// Validity is not memoized: it costs as much as a parse and only
// ParseDetail needs it.
func (n *Normalizer) phoneDetail(raw, s string) (Detail, error) {
	m := phoneMemo{value: s}
	if !n.phones.canonical(s) {
		m = n.phoneSlowMemo(s)
		if m.reason != "" {
			return Detail{}, invalid(raw, Phone, m.reason)
		}
	}
	pn := &phonenumbers.PhoneNumber{}
	valid := phonenumbers.ParseToNumber(m.value, n.region, pn) == nil && phonenumbers.IsValidNumber(pn)
	return Detail{
		Contact:    Contact{Kind: Phone, Value: m.value},
		Unverified: !valid,
		Extension:  m.ext,
	}, nil
}

// parsePhone parses num with the default region and checks that the
// number is possible.
func (n *Normalizer) parsePhone(num string) (*phonenumbers.PhoneNumber, string) {
	pn := &phonenumbers.PhoneNumber{}
	if err := phonenumbers.ParseAndKeepRawInputToNumber(num, n.region, pn); err != nil {
		return nil, parseErrorReason(err)
	}
	// With a '+' whose calling code is unknown, libphonenumber retries the
	// digits as a national number of the default region: "+999 555 0100"
	// would become a US number. A '+' means the caller gave a calling code;
	// an unknown one is an error.
	if r, _ := utf8.DecodeRuneInString(num); (r == '+' || r == '＋') &&
		pn.GetCountryCodeSource() != phonenumbers.PhoneNumber_FROM_NUMBER_WITH_PLUS_SIGN {
		return nil, "unknown country calling code"
	}
	// Format returns the raw input, not E.164, for a national number of
	// zero ("000 000") when the raw input is kept: drop it.
	pn.RawInput = nil
	switch phonenumbers.IsPossibleNumberWithReason(pn) {
	case phonenumbers.IS_POSSIBLE:
		return pn, ""
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return nil, "local number without its area code"
	case phonenumbers.INVALID_COUNTRY_CODE:
		return nil, "unknown country calling code"
	case phonenumbers.TOO_SHORT:
		return nil, "too short for its country" + n.regionNote(pn)
	case phonenumbers.TOO_LONG:
		return nil, "too long for its country" + n.regionNote(pn)
	default:
		return nil, "not a possible length for its country" + n.regionNote(pn)
	}
}

// regionNote names the region a number was read in, in parentheses: the
// one its calling code gives, or the default region for a national
// number, which the reader may not have meant.
func (n *Normalizer) regionNote(pn *phonenumbers.PhoneNumber) string {
	if pn.GetCountryCodeSource() == phonenumbers.PhoneNumber_FROM_DEFAULT_COUNTRY {
		return fmt.Sprintf(" (%s, the default region: write +CC for another country)", n.region)
	}
	region := phonenumbers.GetRegionCodeForCountryCode(int(pn.GetCountryCode()))
	if region == "" || region == "ZZ" {
		return fmt.Sprintf(" (+%d)", pn.GetCountryCode())
	}
	return fmt.Sprintf(" (%s, +%d)", region, pn.GetCountryCode())
}

func parseErrorReason(err error) string {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return "unknown country calling code"
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return "too short"
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return "too long"
	default:
		return "not a phone number"
	}
}

// telURI splits the part of a tel: URI (RFC 3966) after the scheme into a
// number libphonenumber can read and an extension. A local number with a
// phone-context that is a global number prefix gets that prefix; one with
// a domain context (or none) is read in the default region. isub and
// unknown parameters are ignored.
func telURI(u string) (num, ext, reason string) {
	params := strings.Split(u, ";")
	num = params[0]
	var context string
	for _, p := range params[1:] {
		name, val, _ := strings.Cut(p, "=")
		switch strings.ToLower(name) {
		case "ext":
			ext = stripVisual(val)
			if ext == "" || !allDigits(ext) {
				return "", "", "malformed extension in tel URI"
			}
		case "phone-context":
			context = val
		}
	}
	if num == "" {
		return "", "", "tel URI has no number"
	}
	global := num[0] == '+'
	digits := stripVisual(strings.TrimPrefix(num, "+"))
	if digits == "" || !allDigits(digits) {
		return "", "", "malformed number in tel URI"
	}
	if !global && strings.HasPrefix(context, "+") {
		prefix := stripVisual(context[1:])
		if prefix == "" || !allDigits(prefix) {
			return "", "", "malformed phone-context in tel URI"
		}
		return "+" + prefix + digits, ext, ""
	}
	if global {
		return "+" + digits, ext, ""
	}
	return digits, ext, ""
}

// stripVisual removes RFC 3966 visual separators.
func stripVisual(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '.', '(', ')':
			return -1
		}
		return r
	}, s)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isPhoneStart reports whether a phone number may begin with r.
func isPhoneStart(r rune) bool {
	return r == '+' || r == '＋' || r == '(' || r == '（' || unicode.IsDigit(r)
}

// notInPhone reports characters that never belong in a phone number: they
// mark another kind of contact, markup, or an injection attempt.
func notInPhone(r rune) bool {
	if unicode.IsControl(r) && r != '\t' {
		return true
	}
	switch r {
	case '@', '<', '>', '"', '\\', '{', '}', '|', '^', '`', '%', '\u2028', '\u2029':
		return true
	}
	return false
}
